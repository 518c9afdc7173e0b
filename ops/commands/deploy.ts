/**
 * `npm run deploy -- --stack prod [--service ems --version 1.5.0] [--yes]`
 *
 * Sets a service's image version in the stack config (optional), then runs the release flow (release.ts):
 * preview with a diff, what restarts, confirmation, `pulumi up`. If anything fails or is refused before `up`, the
 * previous version is put back in the config. Without --service/--version it is a plain preview + up
 * (`--stack dev` is the first-run command on a laptop: it creates the stack when missing).
 */
import { versionEdit } from "../deployPlan";
import { checkBeforeDeploy } from "../doctor";
import { readHistory } from "../history";
import { pruneImages } from "../pruneImages";
import { ConfigEdit, release } from "../release";
import { SERVICES_KEY } from "../rollbackPlan";
import { UsageError } from "../runner/args";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;

export const deploy = defineCommand({
  name: "deploy",
  summary:
    "Deploys a stack: optionally sets one service's image version, previews the change with a diff, " +
    "asks for confirmation, then runs pulumi up. Nothing is deployed unless you confirm (or pass --yes).",
  stack: { mode: "create", description: "Stack to deploy: dev on this laptop (created if missing) or prod on the VPS" },
  confirms: true,
  flags: {
    service: {
      type: "string",
      valueName: "name",
      description: `Service whose version changes, as named in ${SERVICES_KEY} (e.g. ems)`,
    },
    version: {
      type: "string",
      valueName: "tag",
      description: "Image tag to deploy for --service (e.g. 1.5.0; never latest)",
    },
  },
  validate(options) {
    const { service, version } = options;
    if ((service === undefined) !== (version === undefined))
      throw new UsageError(
        "--service and --version go together: give both to change a version, or neither for a plain deploy",
      );
    if (service !== undefined && !SERVICE_NAME.test(service))
      throw new UsageError(
        `--service "${service}" is not a service name (lower-case letters, digits and dashes, like ems)`,
      );
    if (version !== undefined) {
      if (version.toLowerCase() === "latest")
        throw new UsageError('--version must be a pinned tag such as 1.5.0, never "latest"');
      if (!IMAGE_TAG.test(version))
        throw new UsageError(
          `--version "${version}" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters)`,
        );
    }
    return options;
  },
  async before(options, { checkMachine, io, repoRoot }) {
    // On a development stack, `npm run doctor`'s checks first: a FAIL line stops the deploy before anything runs.
    const check = checkMachine ?? ((name: string) => checkBeforeDeploy(name, io, repoRoot));
    if (await check(options.stack, io)) return undefined;
    io.err(
      `error: not deploying stack ${options.stack}: this machine is not ready (npm run doctor -- --stack ${options.stack})\n`,
    );
    return EXIT.failed;
  },
  notes: [
    "--service and --version go together; without them the command previews and applies the stack as configured.",
    'A failure or a "no" before pulumi up puts the previous version back in the stack config.',
    "A container a failed deploy left unhealthy is replaced on the next run; the running one is kept until then.",
  ],
  examples: [
    "npm run deploy -- --stack dev",
    "npm run deploy -- --stack prod --service ems --version 1.5.0",
    "npm run deploy -- --stack prod --yes",
  ],
  async run(options, ctx) {
    const { stack, io } = ctx;
    const edits: ConfigEdit[] = [];
    if (options.service !== undefined && options.version !== undefined) {
      const edit = await versionEdit(stack, options.service, options.version);
      if (edit) edits.push(edit);
      else
        io.out(
          `${SERVICES_KEY}.${options.service}.version is already ${options.version} in stack ${stack.name}: applying the stack as configured\n`,
        );
    }
    const what = options.service ? `${options.service} ${options.version}` : "the configured versions";
    return release(
      stack,
      {
        what,
        question: `Deploy ${what} to stack ${stack.name}?`,
        message: options.service ? `deploy ${options.service} ${options.version}` : "deploy",
        edits,
        replace: [],
        yes: options.yes,
        nothingToDo: `nothing to deploy: stack ${stack.name} already runs ${what}`,
        afterFailure:
          `The stack config keeps ${what}. Fix the cause and re-run this command (containers that failed to start are replaced, ` +
          `the running ones are kept until then), or go back with: npm run rollback -- --stack ${stack.name}`,
        done: `deployed ${what} to stack ${stack.name}`,
        afterSuccess: async () => pruneImages(stack, await readHistory(stack), io, ctx),
      },
      io,
      ctx,
    );
  },
});

runMain(module, deploy);

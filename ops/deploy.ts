/**
 * `npm run deploy -- --stack prod [--service ems --version 1.5.0] [--yes]`
 *
 * Sets a service's image version in the stack config (optional), then runs the release flow (release.ts):
 * preview with a diff, what restarts, confirmation, `pulumi up`. If anything fails or is refused before `up`, the
 * previous version is put back in the config. Without --service/--version it is a plain preview + up
 * (`--stack dev` is the first-run command on a laptop: it creates the stack when missing).
 */
import { CommandSpec, parseArgs, UsageError, stackFlag, yesFlag } from "./args";
import { assertStoredAsString } from "./changes";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { pruneImages } from "./pruneImages";
import { ConfigEdit, release } from "./release";
import { readHistory } from "./history";
import { SERVICES_KEY } from "./rollbackPlan";
import { refuseCiTarget, refuseStackCreation } from "./target";
import { defaultDeps, OpsDeps, StackLike } from "./workspace";
import { isRecord } from "../stacks/configErrors";

export const deploySpec = {
  command: "npm run deploy --",
  summary:
    "Deploys a stack: optionally sets one service's image version, previews the change with a diff, " +
    "asks for confirmation, then runs pulumi up. Nothing is deployed unless you confirm (or pass --yes).",
  flags: {
    stack: stackFlag("Stack to deploy: dev on this laptop (created if missing) or prod on the VPS"),
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
    yes: yesFlag(),
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
} as const satisfies CommandSpec;

export interface DeployOptions {
  stack: string;
  service?: string;
  version?: string;
  yes: boolean;
}

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;

export function parseDeployArgs(argv: readonly string[]): { help: true } | { help: false; options: DeployOptions } {
  const parsed = parseArgs(deploySpec, argv);
  if (parsed.help) return parsed;
  const { stack, service, version, yes } = parsed.values;
  if ((service === undefined) !== (version === undefined)) {
    throw new UsageError(
      "--service and --version go together: give both to change a version, or neither for a plain deploy",
    );
  }
  if (service !== undefined && !SERVICE_NAME.test(service)) {
    throw new UsageError(
      `--service "${service}" is not a service name (lower-case letters, digits and dashes, like ems)`,
    );
  }
  if (version !== undefined) {
    if (version.toLowerCase() === "latest")
      throw new UsageError('--version must be a pinned tag such as 1.5.0, never "latest"');
    if (!IMAGE_TAG.test(version)) {
      throw new UsageError(
        `--version "${version}" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters)`,
      );
    }
  }
  return { help: false, options: { stack, service, version, yes } };
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(deploySpec, io, () => parseDeployArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;

  if (!opts.yes && !io.isTTY) {
    io.err(
      `error: refusing to deploy stack ${opts.stack} without confirmation: this is not a terminal; re-run with --yes to deploy unattended\n`,
    );
    return 1;
  }

  let stack: StackLike;
  const edits: ConfigEdit[] = [];
  try {
    if (deps.checkMachine && !(await deps.checkMachine(opts.stack, io))) {
      io.err(
        `error: not deploying stack ${opts.stack}: this machine is not ready (npm run doctor -- --stack ${opts.stack})\n`,
      );
      return 1;
    }
    const refusal = await refuseStackCreation(opts.stack, deps);
    if (refusal) throw new Error(refusal);
    stack = await deps.openStack(opts.stack, deps.repoRoot, true);
    const ciRefusal = await refuseCiTarget(stack, deps.env);
    if (ciRefusal) throw new Error(ciRefusal);
    if (opts.service !== undefined && opts.version !== undefined) {
      const edit = await versionEdit(stack, opts.service, opts.version);
      if (edit) edits.push(edit);
      else
        io.out(
          `${SERVICES_KEY}.${opts.service}.version is already ${opts.version} in stack ${opts.stack}: applying the stack as configured\n`,
        );
    }
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }

  const what = opts.service ? `${opts.service} ${opts.version}` : "the configured versions";
  return release(
    stack,
    {
      what,
      question: `Deploy ${what} to stack ${opts.stack}?`,
      message: opts.service ? `deploy ${opts.service} ${opts.version}` : "deploy",
      edits,
      replace: [],
      yes: opts.yes,
      nothingToDo: `nothing to deploy: stack ${opts.stack} already runs ${what}`,
      afterFailure:
        `The stack config keeps ${what}. Fix the cause and re-run this command (containers that failed to start are replaced, ` +
        `the running ones are kept until then), or go back with: npm run rollback -- --stack ${opts.stack}`,
      done: `deployed ${what} to stack ${opts.stack}`,
      afterSuccess: async () => pruneImages(stack, await readHistory(stack), io, deps),
    },
    io,
    deps,
  );
}

/** The config edit that sets a service's version, or undefined when it is already set; refuses unknown services. */
async function versionEdit(stack: StackLike, service: string, version: string): Promise<ConfigEdit | undefined> {
  const key = `${SERVICES_KEY}.${service}.version`;
  assertStoredAsString(key, version);
  const services = await readServices(stack);
  if (!services)
    throw new Error(
      `stack ${stack.name} has no ${SERVICES_KEY} config: describe the services in Pulumi.${stack.name}.yaml first`,
    );
  if (!Object.prototype.hasOwnProperty.call(services, service)) {
    const known = Object.keys(services).sort().join(", ") || "none";
    throw new Error(`service "${service}" is not in ${SERVICES_KEY} of stack ${stack.name} (known services: ${known})`);
  }
  const entry = services[service];
  const previous = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>).version : undefined;
  if ((typeof previous === "string" || typeof previous === "number") && String(previous) === version) return undefined;
  return { key, value: version, path: true };
}

/** The stack's `ems-infra:services` object, or undefined when it is not set. */
async function readServices(stack: StackLike): Promise<Record<string, unknown> | undefined> {
  let raw: string;
  try {
    raw = (await stack.getConfig(SERVICES_KEY)).value;
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    throw new Error(`${SERVICES_KEY} of the stack is not an object (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

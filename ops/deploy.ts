/**
 * `npm run deploy -- --stack prod [--service ems --version 1.5.0] [--yes]`
 *
 * Sets a service's image version in the stack config (optional), previews with a diff, asks for
 * confirmation, then runs `pulumi up`. If anything fails or is refused before `up`, the previous
 * version is put back in the config. Without --service/--version it is a plain preview + up
 * (`--stack dev` is the first-run command on a laptop: it creates the stack when missing).
 */
import { CommandSpec, parseArgs, UsageError } from "./args";
import { SERVICES_KEY } from "./rollbackPlan";
import {
  assertStoredAsString,
  confirm,
  defaultDeps,
  Deps,
  describeError,
  formatResourceChanges,
  handleArgs,
  hasChanges,
  Io,
  policyPacks,
  runCli,
  StackLike,
} from "./stackOps";

export const deploySpec = {
  command: "npm run deploy --",
  summary:
    "Deploys a stack: optionally sets one service's image version, previews the change with a diff, " +
    "asks for confirmation, then runs pulumi up. Nothing is deployed unless you confirm (or pass --yes).",
  flags: {
    stack: { type: "string", required: true, valueName: "name", description: "Stack to deploy: dev on this laptop (created if missing) or prod on the VPS" },
    service: { type: "string", valueName: "name", description: `Service whose version changes, as named in ${SERVICES_KEY} (e.g. ems)` },
    version: { type: "string", valueName: "tag", description: "Image tag to deploy for --service (e.g. 1.5.0; never latest)" },
    yes: { type: "boolean", description: "Do not ask for confirmation (required when not run from a terminal)" },
  },
  notes: [
    "--service and --version go together; without them the command previews and applies the stack as configured.",
    "A failure or a \"no\" before pulumi up puts the previous version back in the stack config.",
  ],
  examples: ["npm run deploy -- --stack dev", "npm run deploy -- --stack prod --service ems --version 1.5.0", "npm run deploy -- --stack prod --yes"],
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
    throw new UsageError("--service and --version go together: give both to change a version, or neither for a plain deploy");
  }
  if (service !== undefined && !SERVICE_NAME.test(service)) {
    throw new UsageError(`--service "${service}" is not a service name (lower-case letters, digits and dashes, like ems)`);
  }
  if (version !== undefined) {
    if (version.toLowerCase() === "latest") throw new UsageError('--version must be a pinned tag such as 1.5.0, never "latest"');
    if (!IMAGE_TAG.test(version)) {
      throw new UsageError(`--version "${version}" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters)`);
    }
  }
  return { help: false, options: { stack, service, version, yes } };
}

export async function main(argv: readonly string[], io: Io, deps: Deps = defaultDeps): Promise<number> {
  const args = handleArgs(deploySpec, io, () => parseDeployArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;

  if (!opts.yes && !io.isTTY) {
    io.err(`error: refusing to deploy stack ${opts.stack} without confirmation: this is not a terminal; re-run with --yes to deploy unattended\n`);
    return 1;
  }

  let stack: StackLike;
  try {
    stack = await deps.openStack(opts.stack, deps.repoRoot, true);
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }

  // Before `up`, every failure or refusal puts the config back as it was.
  let restore: Restore | undefined;
  const undo = async (): Promise<string> => {
    if (!restore) return "";
    try {
      await restore.run();
      return `; ${restore.done}`;
    } catch (error) {
      return `; could not restore the config (${describeError(error)}), do it with: ${restore.command}`;
    }
  };

  const what = opts.service ? `${opts.service} ${opts.version}` : "the configured versions";
  try {
    if (opts.service !== undefined && opts.version !== undefined) {
      const key = `${SERVICES_KEY}.${opts.service}.version`;
      assertStoredAsString(key, opts.version);
      const services = await readServices(stack);
      if (!services) throw new Error(`stack ${opts.stack} has no ${SERVICES_KEY} config: describe the services in Pulumi.${opts.stack}.yaml first`);
      if (!Object.prototype.hasOwnProperty.call(services, opts.service)) {
        const known = Object.keys(services).sort().join(", ") || "none";
        throw new Error(`service "${opts.service}" is not in ${SERVICES_KEY} of stack ${opts.stack} (known services: ${known})`);
      }
      const entry = services[opts.service];
      const previous = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>).version : undefined;
      const previousText = typeof previous === "string" || typeof previous === "number" ? String(previous) : undefined;
      if (previousText === opts.version) {
        io.out(`${key} is already ${opts.version} in stack ${opts.stack}: applying the stack as configured\n`);
      } else {
        await stack.setConfig(key, { value: opts.version }, true);
        io.out(`set ${key}: ${previousText ?? "(unset)"} → ${opts.version}\n`);
        restore =
          previousText === undefined
            ? {
                run: () => stack.removeConfig(key, true),
                done: `${key} is unset again`,
                command: `pulumi config rm --path ${key} --stack ${opts.stack}`,
              }
            : {
                run: () => stack.setConfig(key, { value: previousText }, true),
                done: `${key} is back to ${previousText}`,
                command: `pulumi config set --path ${key} ${previousText} --stack ${opts.stack}`,
              };
      }
    }

    const packs = policyPacks(deps);
    const color = io.isTTY ? "always" : "never";
    io.out(`\nPreviewing stack ${opts.stack}${packs ? " (with the policy pack)" : ""}…\n`);
    const preview = await stack.preview({ diff: true, onOutput: io.out, policyPacks: packs, color });
    if (!hasChanges(preview.changeSummary)) {
      io.out(`\nnothing to deploy: stack ${opts.stack} already runs ${what} (${formatResourceChanges(preview.changeSummary)})\n`);
      return 0;
    }
    io.out(`\nplanned: ${formatResourceChanges(preview.changeSummary)}\n`);

    if (!opts.yes && !(await confirm(io, `Deploy ${what} to stack ${opts.stack}?`))) {
      io.err(`aborted: nothing deployed${await undo()}\n`);
      return 1;
    }
    restore = undefined;

    const message = opts.service ? `deploy ${opts.service} ${opts.version}` : "deploy";
    let result;
    try {
      result = await stack.up({ onOutput: io.out, policyPacks: packs, color, message });
    } catch (error) {
      io.err(
        `error: pulumi up failed on stack ${opts.stack}: ${describeError(error)}\n` +
          `The stack config keeps ${what}. Fix the cause and re-run this command, or go back with: npm run rollback -- --stack ${opts.stack}\n`,
      );
      return 1;
    }
    io.out(`\ndeployed ${what} to stack ${opts.stack} (update #${result.summary.version}): ${formatResourceChanges(result.summary.resourceChanges)}\n`);
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}${await undo()}\n`);
    return 1;
  }
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
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    throw new Error(`${SERVICES_KEY} of the stack is not an object (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
}

interface Restore {
  run(): Promise<void>;
  /** What the operator is told once it ran. */
  done: string;
  /** The manual command when it could not run. */
  command: string;
}

if (require.main === module) runCli((argv, io) => main(argv, io));

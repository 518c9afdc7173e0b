/**
 * `npm run rollback -- --stack prod [--to <n>] [--yes]`
 *
 * Prints the stack's recent updates, plans a rollback to the image versions of the previous
 * successful update (or update `--to`), sets them in the config, previews, asks for
 * confirmation and runs `pulumi up` with the message "rollback to update N".
 * A failure or a "no" before `up` puts the config back as it was.
 */
import type { UpdateSummary } from "@pulumi/pulumi/automation";
import { CommandSpec, parseArgs } from "./args";
import { describeVersions, formatHistory, planRollback, RollbackPlan } from "./rollbackPlan";
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

export const rollbackSpec = {
  command: "npm run rollback --",
  summary:
    "Rolls a stack back to the image versions (services, Traefik, PostgreSQL) of an earlier successful update: " +
    "shows the history, previews the change, asks for confirmation, then runs pulumi up.",
  flags: {
    stack: { type: "string", required: true, valueName: "name", description: "Stack to roll back, e.g. prod" },
    to: { type: "integer", valueName: "n", description: "Update number to return to (default: the successful update before the current one)" },
    yes: { type: "boolean", description: "Do not ask for confirmation (required when not run from a terminal)" },
  },
  notes: [
    "Only image versions are rolled back; other settings keep their current values.",
    "A rollback that would change PostgreSQL's major version is refused: the data volume cannot be reused.",
  ],
  examples: ["npm run rollback -- --stack prod", "npm run rollback -- --stack prod --to 12"],
} as const satisfies CommandSpec;

export interface RollbackOptions {
  stack: string;
  to?: number;
  yes: boolean;
}

export function parseRollbackArgs(argv: readonly string[]): { help: true } | { help: false; options: RollbackOptions } {
  const parsed = parseArgs(rollbackSpec, argv);
  if (parsed.help) return parsed;
  const { stack, to, yes } = parsed.values;
  return { help: false, options: { stack, to, yes } };
}

/** What the plan changes, one line per key: `ems-infra:services.ems.version  1.5.0 → 1.4.2`. */
export function formatPlan(plan: RollbackPlan, stack: string): string {
  const width = Math.max(...plan.changes.map((c) => c.key.length));
  const lines = [
    `Rollback of stack ${stack}: current update #${plan.from.update} → versions of update #${plan.to.update}`,
    ...plan.changes.map((c) => `  ${c.key.padEnd(width)}  ${c.from ?? "(unset)"} → ${c.to}`),
    ...plan.notes.map((n) => `note: ${n}`),
  ];
  return `${lines.join("\n")}\n`;
}

export async function main(argv: readonly string[], io: Io, deps: Deps = defaultDeps): Promise<number> {
  const args = handleArgs(rollbackSpec, io, () => parseRollbackArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;

  if (!opts.yes && !io.isTTY) {
    io.err(`error: refusing to roll back stack ${opts.stack} without confirmation: this is not a terminal; re-run with --yes to roll back unattended\n`);
    return 1;
  }

  let stack: StackLike;
  let plan: RollbackPlan;
  try {
    stack = await deps.openStack(opts.stack, deps.repoRoot, false);
    const history = await readHistory(stack);
    io.out(`Recent updates of stack ${opts.stack} (newest first):\n${formatHistory(history)}\n`);
    plan = planRollback(history, { to: opts.to, stack: opts.stack });
    for (const change of plan.changes) assertStoredAsString(change.key, change.to);
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
  io.out(formatPlan(plan, opts.stack));

  // The config as it is now (it may differ from the current update's), to put it back before `up`.
  const previous = new Map<string, string | undefined>();
  const undo = async (): Promise<string> => {
    const failed: string[] = [];
    for (const [key, value] of [...previous].reverse()) {
      try {
        if (value === undefined) await stack.removeConfig(key, true);
        else await stack.setConfig(key, { value }, true);
      } catch {
        failed.push(value === undefined ? `pulumi config rm --path ${key} --stack ${opts.stack}` : `pulumi config set --path ${key} ${value} --stack ${opts.stack}`);
      }
    }
    if (previous.size === 0) return "";
    previous.clear();
    return failed.length ? `; could not restore the config, do it with:\n  ${failed.join("\n  ")}` : "; the stack config is back as it was";
  };

  const target = `the versions of update #${plan.to.update}`;
  try {
    for (const change of plan.changes) {
      previous.set(change.key, await currentValue(stack, change.key));
      await stack.setConfig(change.key, { value: change.to }, true);
    }

    const packs = policyPacks(deps);
    const color = io.isTTY ? "always" : "never";
    io.out(`\nPreviewing the rollback of stack ${opts.stack}…\n`);
    const preview = await stack.preview({ diff: true, onOutput: io.out, policyPacks: packs, color });
    if (!hasChanges(preview.changeSummary)) {
      io.out(`\nnothing to do: stack ${opts.stack} already runs ${target} (${describeVersions(plan.to.versions)})\n`);
      return 0;
    }
    io.out(`\nplanned: ${formatResourceChanges(preview.changeSummary)}\n`);

    if (!opts.yes && !(await confirm(io, `Roll back stack ${opts.stack} to ${target}?`))) {
      io.err(`aborted: nothing deployed${await undo()}\n`);
      return 1;
    }
    previous.clear();

    let result;
    try {
      result = await stack.up({ onOutput: io.out, policyPacks: packs, color, message: `rollback to update ${plan.to.update}` });
    } catch (error) {
      io.err(
        `error: pulumi up failed on stack ${opts.stack}: ${describeError(error)}\n` +
          `The stack config now holds ${target}: fix the cause and re-run this command with --to ${plan.to.update}.\n`,
      );
      return 1;
    }
    io.out(`\nrolled back stack ${opts.stack} to ${target} (update #${result.summary.version}): ${formatResourceChanges(result.summary.resourceChanges)}\n`);
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}${await undo()}\n`);
    return 1;
  }
}

/**
 * The whole update history, newest first. `pulumi stack history` returns one page (10 entries) by default,
 * so read page after page until a short (or repeated) one. Secrets are not decrypted: only versions are needed.
 */
export async function readHistory(stack: Pick<StackLike, "history">, pageSize = 100, maxPages = 50): Promise<UpdateSummary[]> {
  const all: UpdateSummary[] = [];
  const seen = new Set<number>();
  for (let page = 1; page <= maxPages; page++) {
    const batch = await stack.history(pageSize, page, false);
    const fresh = batch.filter((h) => !seen.has(h.version));
    for (const h of fresh) {
      seen.add(h.version);
      all.push(h);
    }
    if (batch.length < pageSize || fresh.length === 0) break;
  }
  return all;
}

async function currentValue(stack: StackLike, key: string): Promise<string | undefined> {
  try {
    return (await stack.getConfig(key, true)).value;
  } catch {
    return undefined;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

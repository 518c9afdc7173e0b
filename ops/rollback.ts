/**
 * `npm run rollback -- --stack prod [--to <n>] [--yes]`
 *
 * Prints the stack's recent updates, plans a rollback to the image versions of the previous
 * successful update (or update `--to`), sets them in the config, previews, asks for
 * confirmation and runs `pulumi up` with the message "rollback to update N".
 * A failure or a "no" before `up` puts the config back as it was.
 */
import { CommandSpec, parseArgs, stackFlag, yesFlag } from "./args";
import { assertStoredAsString } from "./changes";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { readHistory } from "./history";
import { release } from "./release";
import { describeVersions, formatHistory, planRollback, RollbackPlan } from "./rollbackPlan";
import { refuseCiTarget } from "./target";
import { defaultDeps, OpsDeps, StackLike } from "./workspace";

export { readHistory } from "./history";

export const rollbackSpec = {
  command: "npm run rollback --",
  summary:
    "Rolls a stack back to the image versions (services, Traefik, PostgreSQL) of an earlier successful update: " +
    "shows the history, previews the change, asks for confirmation, then runs pulumi up.",
  flags: {
    stack: stackFlag("Stack to roll back, e.g. prod"),
    to: {
      type: "integer",
      valueName: "n",
      description: "Update number to return to (default: the successful update before the current one)",
    },
    yes: yesFlag(),
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

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(rollbackSpec, io, () => parseRollbackArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;

  if (!opts.yes && !io.isTTY) {
    io.err(
      `error: refusing to roll back stack ${opts.stack} without confirmation: this is not a terminal; re-run with --yes to roll back unattended\n`,
    );
    return 1;
  }

  let stack: StackLike;
  let plan: RollbackPlan;
  try {
    stack = await deps.openStack(opts.stack, deps.repoRoot, false);
    const ciRefusal = await refuseCiTarget(stack, deps.env);
    if (ciRefusal) throw new Error(ciRefusal);
    const history = await readHistory(stack);
    io.out(`Recent updates of stack ${opts.stack} (newest first):\n${formatHistory(history)}\n`);
    plan = planRollback(history, { to: opts.to, stack: opts.stack });
    for (const change of plan.changes) assertStoredAsString(change.key, change.to);
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
  io.out(formatPlan(plan, opts.stack));

  const target = `the versions of update #${plan.to.update}`;
  return release(
    stack,
    {
      what: target,
      question: `Roll back stack ${opts.stack} to ${target}?`,
      message: `rollback to update ${plan.to.update}`,
      edits: plan.changes.map((c) => ({ key: c.key, value: c.to, path: true })),
      replace: [],
      yes: opts.yes,
      nothingToDo: `nothing to do: stack ${opts.stack} already runs ${target} (${describeVersions(plan.to.versions)})`,
      afterFailure: `The stack config now holds ${target}: fix the cause and re-run this command with --to ${plan.to.update}.`,
      done: `rolled back stack ${opts.stack} to ${target}`,
    },
    io,
    deps,
  );
}

if (require.main === module) runCli((argv, io) => main(argv, io));

/**
 * `npm run rollback -- --stack prod [--to <n>] [--yes]`
 *
 * Prints the stack's recent updates, plans a rollback to the image versions of the previous
 * successful update (or update `--to`), sets them in the config, previews, asks for
 * confirmation and runs `pulumi up` with the message "rollback to update N".
 * A failure or a "no" before `up` puts the config back as it was.
 */
import { assertStoredAsString } from "../changes";
import { readHistory } from "../history";
import { release } from "../release";
import { describeVersions, formatHistory, formatPlan, planRollback } from "../rollbackPlan";
import { defineCommand, runMain } from "../runner/defineCommand";

export const rollback = defineCommand({
  name: "rollback",
  summary:
    "Rolls a stack back to the image versions (services, Traefik, PostgreSQL) of an earlier successful update: " +
    "shows the history, previews the change, asks for confirmation, then runs pulumi up.",
  stack: { mode: "select", description: "Stack to roll back, e.g. prod" },
  confirms: true,
  flags: {
    to: {
      type: "integer",
      valueName: "n",
      description: "Update number to return to (default: the successful update before the current one)",
    },
  },
  notes: [
    "Only image versions are rolled back; other settings keep their current values.",
    "A rollback that would change PostgreSQL's major version is refused: the data volume cannot be reused.",
  ],
  examples: ["npm run rollback -- --stack prod", "npm run rollback -- --stack prod --to 12"],
  async run(options, ctx) {
    const { stack, io } = ctx;
    const history = await readHistory(stack);
    io.out(`Recent updates of stack ${stack.name} (newest first):\n${formatHistory(history)}\n`);
    const plan = planRollback(history, { to: options.to, stack: stack.name });
    for (const change of plan.changes) assertStoredAsString(change.key, change.to);
    io.out(formatPlan(plan, stack.name));

    const target = `the versions of update #${plan.to.update}`;
    return release(
      stack,
      {
        what: target,
        question: `Roll back stack ${stack.name} to ${target}?`,
        message: `rollback to update ${plan.to.update}`,
        edits: plan.changes.map((c) => ({ key: c.key, value: c.to, path: true })),
        replace: [],
        yes: options.yes,
        nothingToDo: `nothing to do: stack ${stack.name} already runs ${target} (${describeVersions(plan.to.versions)})`,
        afterFailure: `The stack config now holds ${target}: fix the cause and re-run this command with --to ${plan.to.update}.`,
        done: `rolled back stack ${stack.name} to ${target}`,
      },
      io,
      ctx,
    );
  },
});

runMain(module, rollback);

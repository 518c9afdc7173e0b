/**
 * `npm run drift -- --stack prod`
 *
 * Refreshes the stack's state from the live host and previews the program against it
 * (`pulumi preview --refresh --expect-no-changes --diff`), then runs the read-only host check of what a refresh
 * never re-reads (ops/hostDrift.ts: folders and modes, the backup cron entry, database roles and owners).
 * On a swarm the host check runs on each node, and the services' replica counts and images are compared with the
 * program's (ops/swarmDrift.ts).
 * Exit 0 when nothing differs; exit 1 with each resource and host difference by name otherwise.
 */
import { DriftEvent, formatDrift, formatHostDrift, summarizeDrift } from "../driftReport";
import { hostCheckCommand } from "../hostCommands/hostCheck";
import { parseHostCheck } from "../hostDrift";
import { Context, policyPacks, StackLike } from "../runner/context";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { describeError } from "../runner/io";
import { hostTargetOf } from "../runner/stackConfig";
import { readOpsOutputs } from "../stackOutputs";
import { checkSwarmHosts } from "../swarmDrift";

export const drift = defineCommand({
  name: "drift",
  summary:
    "Checks that the live host still matches the program: refreshes the state from the host, then previews; then checks " +
    "the host's folders, backup cron entry and database roles, which a refresh never re-reads. " +
    "Exits 0 when nothing differs, 1 when something does (or the check could not run).",
  stack: { mode: "select", description: "Stack to check, e.g. prod" },
  confirms: false,
  flags: {},
  notes: [
    "Nothing is changed: neither the host nor the stack's state (the refresh is part of the preview; the host check only reads).",
  ],
  examples: ["npm run drift -- --stack prod"],
  async run(_options, ctx) {
    const { stack, io } = ctx;
    const events: DriftEvent[] = [];
    let failure: unknown;
    try {
      io.out(`Refreshing stack ${stack.name} from the live host and previewing…\n`);
      await stack.preview({
        refresh: true,
        expectNoChanges: true,
        policyPacks: policyPacks(ctx),
        diff: true,
        color: io.isTTY ? "always" : "never",
        onOutput: io.out,
        onEvent: (event) => events.push(event),
      });
    } catch (error) {
      failure = error;
    }

    const items = summarizeDrift(events);
    const message = failure === undefined ? undefined : describeError(failure);
    // `expectNoChanges` makes the preview fail when something differs: that failure is the drift itself.
    const expected = message !== undefined && /no changes were expected/i.test(message);
    if (message !== undefined && !expected) io.err(`error: drift check of stack ${stack.name} failed: ${message}\n`);
    let red = message !== undefined;
    if (items.length > 0) io.out(`\n${formatDrift(items, stack.name)}`);
    else if (expected) io.out(`\ndrift: stack ${stack.name} differs from the live host (see the preview above)\n`);

    // What a refresh never re-reads (the host commands' effects); checked even when the preview failed.
    red = !(await checkHost(stack, ctx)) || red;
    if (red) return EXIT.failed;
    io.out(`\nno drift: stack ${stack.name} matches the live host\n`);
    return EXIT.ok;
  },
});

/** Runs the read-only host check from the stack's `hostExpectations` output; true when the host matches. */
async function checkHost(stack: StackLike, { io, host }: Context): Promise<boolean> {
  try {
    const outputs = await readOpsOutputs(stack);
    if (outputs.platform === "swarm") return await checkSwarmHosts(stack, outputs, { io, host });
    const { hostExpectations } = outputs;
    io.out(`\nChecking the host's folders, backup cron entry, database roles and owners…\n`);
    const result = await host.capture(await hostTargetOf(stack), hostCheckCommand(hostExpectations), {
      timeoutMs: 120_000,
    });
    const drift = parseHostCheck(result);
    if (drift.ok) return true;
    io.out(formatHostDrift(drift, stack.name));
    return false;
  } catch (error) {
    io.err(`error: host check of stack ${stack.name} failed: ${describeError(error)}\n`);
    return false;
  }
}

runMain(module, drift);

/**
 * `npm run backup -- --stack prod`: takes a backup now (before a risky change), on the stack's host, with the
 * very command its cron schedule runs.
 */
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { describeHost } from "../runner/hostShell";
import { hostTargetOf } from "../runner/stackConfig";
import { readOpsOutputs } from "../stackOutputs";

export const backup = defineCommand({
  name: "backup",
  summary: "Dump every database of the stack's Postgres (and the roles) into its backups folder now.",
  stack: { mode: "select", description: "Stack to back up (dev or prod)" },
  confirms: false,
  flags: {},
  examples: ["npm run backup -- --stack prod"],
  async run(_options, { stack, host, io }) {
    const outputs = await readOpsOutputs(stack);
    const target = await hostTargetOf(stack);
    io.out(`backup: stack ${stack.name}, on ${describeHost(target)}, into ${outputs.backupDir}\n`);
    const code = await host.run(target, outputs.backupCommand);
    io.out(
      code === 0 ? `backup: done\n` : `backup: FAILED (exit ${code}); no partial file is left under a final name\n`,
    );
    return code === 0 ? EXIT.ok : EXIT.failed;
  },
});

runMain(module, backup);

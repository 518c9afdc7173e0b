/**
 * `npm run backup -- --stack prod`: takes a backup now (before a risky change), on the stack's host, with the
 * very command its cron schedule runs (the off-site copy included when it is on).
 * `npm run backup -- --stack prod --drill`: the restore drill of the newest off-site snapshot, now (on a swarm, on
 * each node with an off-site job: the Postgres node's dumps into a scratch PostgreSQL, every node's uploads checked).
 */
import { offsiteDrillCommand } from "../hostCommands/offsite";
import { offsiteOf } from "../offsite";
import { offsiteSites } from "../offsiteSites";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { describeHost } from "../runner/hostShell";
import { readOpsOutputs } from "../stackOutputs";
import { backupHostOf } from "../swarm";

export const backup = defineCommand({
  name: "backup",
  summary: "Dump every database of the stack's Postgres (and the roles) into its backups folder now.",
  stack: { mode: "select", description: "Stack to back up (dev or prod)" },
  confirms: false,
  flags: {
    drill: {
      type: "boolean",
      description:
        "Instead: restore the newest off-site snapshot into a scratch PostgreSQL and folder, check every table's row count and every upload's checksum, record the result",
    },
  },
  examples: ["npm run backup -- --stack prod", "npm run backup -- --stack prod --drill"],
  async run({ drill }, { stack, host, io }) {
    const outputs = await readOpsOutputs(stack);
    if (drill) {
      const offsite = offsiteOf(outputs);
      if (!offsite) {
        io.err(
          `backup: stack ${stack.name} has no off-site copy to drill: set ems-infra:backupOffsite and deploy (README, "Off-site backups")\n`,
        );
        return EXIT.usage;
      }
      // On a swarm each node drills its own newest snapshot: the Postgres node's dumps into a scratch PostgreSQL.
      const sites = await offsiteSites(stack, offsite);
      let failed = 0;
      for (const site of sites) {
        const on = sites.length > 1 ? ` on ${site.label}` : "";
        io.out(`backup: restore drill of stack ${stack.name}'s newest off-site snapshot, on ${site.label}\n`);
        const code = await host.run(site.target, offsiteDrillCommand(site.command));
        io.out(
          code === 0
            ? `backup: drill passed${on}\n`
            : `backup: drill FAILED${on} (exit ${code}): the differences are above\n`,
        );
        if (code !== 0) failed++;
      }
      return failed === 0 ? EXIT.ok : EXIT.failed;
    }
    const target = await backupHostOf(stack, outputs);
    io.out(`backup: stack ${stack.name}, on ${describeHost(target)}, into ${outputs.backupDir}\n`);
    const code = await host.run(target, outputs.backupCommand);
    io.out(
      code === 0 ? `backup: done\n` : `backup: FAILED (exit ${code}); no partial file is left under a final name\n`,
    );
    return code === 0 ? EXIT.ok : EXIT.failed;
  },
});

runMain(module, backup);

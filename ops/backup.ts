/**
 * `npm run backup -- --stack prod`: takes a backup now (before a risky change), on the stack's host, with the
 * very command its cron schedule runs (the off-site copy included when it is on).
 * `npm run backup -- --stack prod --drill`: the restore drill of the newest off-site snapshot, now.
 */
import { CommandSpec, parseArgs, stackFlag } from "./args";
import { HostDeps, backupOutputs, defaultHostDeps, describeHost } from "./hostShell";
import { Io, handleArgs, runCli } from "./cli";
import { offsiteInfo } from "./offsite";

export const BACKUP_SPEC = {
  command: "npm run backup --",
  summary: "Dump every database of the stack's Postgres (and the roles) into its backups folder now.",
  flags: {
    stack: stackFlag("Stack to back up (dev or prod)"),
    drill: {
      type: "boolean",
      description:
        "Instead: restore the newest off-site snapshot into a scratch PostgreSQL and folder, check every row count and upload checksum, record the result",
    },
  },
  examples: ["npm run backup -- --stack prod", "npm run backup -- --stack prod --drill"],
} as const satisfies CommandSpec;

export function parseBackupArgs(
  argv: string[],
): { help: true } | { help: false; options: { stack: string; drill: boolean } } {
  const r = parseArgs(BACKUP_SPEC, argv);
  return r.help ? { help: true } : { help: false, options: { stack: r.values.stack, drill: r.values.drill } };
}

export async function main(argv: string[], io: Io, deps: HostDeps = defaultHostDeps): Promise<number> {
  const parsed = handleArgs(BACKUP_SPEC, io, () => parseBackupArgs(argv));
  if (parsed.kind === "exit") return parsed.code;
  const { stack, drill } = parsed.options;
  const opened = await deps.openStack(stack);
  if (drill) {
    const offsite = offsiteInfo(opened.outputs);
    if (!offsite.enabled) {
      io.err(
        `backup: stack ${stack} has no off-site copy to drill: set ems-infra:backupOffsite (README, "Off-site backups")\n`,
      );
      return 2;
    }
    io.out(`backup: restore drill of stack ${stack}'s newest off-site snapshot, on ${describeHost(opened.target)}\n`);
    const code = await deps.run(opened.target, `${offsite.command} drill`);
    io.out(code === 0 ? "backup: drill passed\n" : `backup: drill FAILED (exit ${code}): the differences are above\n`);
    return code === 0 ? 0 : 1;
  }
  const outputs = backupOutputs(stack, opened.outputs);
  io.out(`backup: stack ${stack}, on ${describeHost(opened.target)}, into ${outputs.backupDir}\n`);
  const code = await deps.run(opened.target, outputs.backupCommand);
  io.out(code === 0 ? `backup: done\n` : `backup: FAILED (exit ${code}); no partial file is left under a final name\n`);
  return code === 0 ? 0 : 1;
}

if (require.main === module) runCli(main);

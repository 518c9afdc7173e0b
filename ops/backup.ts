/**
 * `npm run backup -- --stack prod`: takes a backup now (before a risky change), on the stack's host, with the
 * very command its cron schedule runs.
 */
import { CommandSpec, parseArgs, stackFlag } from "./args";
import { HostDeps, backupOutputs, defaultHostDeps, describeHost } from "./hostShell";
import { Io, handleArgs, runCli } from "./cli";

export const BACKUP_SPEC = {
  command: "npm run backup --",
  summary: "Dump every database of the stack's Postgres (and the roles) into its backups folder now.",
  flags: {
    stack: stackFlag("Stack to back up (dev or prod)"),
  },
  examples: ["npm run backup -- --stack prod"],
} as const satisfies CommandSpec;

export function parseBackupArgs(argv: string[]): { help: true } | { help: false; options: { stack: string } } {
  const r = parseArgs(BACKUP_SPEC, argv);
  return r.help ? { help: true } : { help: false, options: { stack: r.values.stack } };
}

export async function main(argv: string[], io: Io, deps: HostDeps = defaultHostDeps): Promise<number> {
  const parsed = handleArgs(BACKUP_SPEC, io, () => parseBackupArgs(argv));
  if (parsed.kind === "exit") return parsed.code;
  const { stack } = parsed.options;
  const opened = await deps.openStack(stack);
  const outputs = backupOutputs(stack, opened.outputs);
  io.out(`backup: stack ${stack}, on ${describeHost(opened.target)}, into ${outputs.backupDir}\n`);
  const code = await deps.run(opened.target, outputs.backupCommand);
  io.out(code === 0 ? `backup: done\n` : `backup: FAILED (exit ${code}); no partial file is left under a final name\n`);
  return code === 0 ? 0 : 1;
}

if (require.main === module) runCli(main);

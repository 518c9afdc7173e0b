/**
 * `npm run restore -- --stack prod --file <dump> [--database <db>] [--yes]`: restores a dump taken by the
 * backup job into the stack's Postgres (pg_restore --clean --if-exists), after confirmation.
 * `npm run restore -- --stack prod --from offsite [--snapshot <id>] [--only uploads|db|acme|portainer|config]`:
 * restores an off-site snapshot onto the stack's host (a new VPS included).
 */
import * as path from "path";
import { CommandSpec, UsageError, parseArgs, stackFlag, yesFlag } from "./args";
import { HostDeps, backupOutputs, defaultHostDeps, describeHost } from "./hostShell";
import { shellQuote } from "../components/shell";
import { Io, confirm, handleArgs, runCli } from "./cli";
import { OFFSITE_KINDS, OffsiteKind, offsiteRestoreArgs } from "../components/backupOffsite";
import { offsiteInfo, offsiteRestoreCommand } from "./offsite";

export const RESTORE_SPEC = {
  command: "npm run restore --",
  summary: "Restore a dump from the stack's backups folder into its Postgres, replacing what is there.",
  flags: {
    stack: stackFlag("Stack to restore into (dev or prod)"),
    file: {
      type: "string",
      valueName: "dump",
      description: "Dump on the host: a path, or a file name in the backups folder (required without --from offsite)",
    },
    from: {
      type: "string",
      valueName: "local|offsite",
      description: "offsite: restore a snapshot of the off-site repository instead of a local dump",
    },
    snapshot: {
      type: "string",
      valueName: "id",
      description: "With --from offsite: the snapshot (default: the newest)",
    },
    only: {
      type: "string",
      valueName: OFFSITE_KINDS.join("|"),
      description: "With --from offsite: restore only this part (default: all)",
    },
    database: {
      type: "string",
      valueName: "db",
      description: "Target database (default: the <db> part of the file name)",
    },
    yes: yesFlag("Do not ask for confirmation"),
  },
  notes: ["Restore globals_<ts>.sql first when the roles are gone, then each <db>_<ts>.dump."],
  examples: [
    "npm run restore -- --stack prod --file ems_20261129T030000Z.dump",
    "npm run restore -- --stack prod --from offsite",
    "npm run restore -- --stack prod --from offsite --snapshot 4f2a9c1e --only uploads",
    "npm run restore -- --stack dev --file /home/me/ems_20261129T030000Z.dump --database ems_copy --yes",
  ],
} as const satisfies CommandSpec;

export interface RestoreOptions {
  stack: string;
  file: string;
  database?: string;
  yes: boolean;
}

/** `--from offsite` options. */
export interface OffsiteRestoreOptions {
  stack: string;
  from: "offsite";
  snapshot?: string;
  only?: OffsiteKind;
  yes: boolean;
}

/** The dump's full path on the host: bare file names are looked up in the backups folder. */
export function dumpPath(file: string, backupDir: string): string {
  return file.includes("/") ? file : path.posix.join(backupDir, file);
}

/** The database a dump restores into: given, or `<db>` of `<db>_<YYYYmmddTHHMMSSZ>.dump`. */
export function targetDatabase(file: string, database?: string): string | undefined {
  if (database) return database;
  const match = /^([A-Za-z0-9_]+)_\d{8}T\d{6}Z\.dump$/.exec(path.posix.basename(file));
  return match?.[1];
}

export function parseRestoreArgs(
  argv: string[],
): { help: true } | { help: false; options: RestoreOptions | OffsiteRestoreOptions } {
  const r = parseArgs(RESTORE_SPEC, argv);
  if (r.help) return { help: true };
  const { stack, database, yes, from, snapshot, only } = r.values;
  if (from !== undefined && from !== "local" && from !== "offsite")
    throw new UsageError(`--from must be local or offsite (got "${from}")`);
  if (from === "offsite") {
    if (r.values.file !== undefined || database !== undefined)
      throw new UsageError("--file and --database restore a local dump: not with --from offsite");
    try {
      offsiteRestoreArgs({ snapshot, only: only as OffsiteKind | undefined });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return { help: false, options: { stack, from, snapshot, only: only as OffsiteKind | undefined, yes } };
  }
  if (snapshot !== undefined || only !== undefined)
    throw new UsageError("--snapshot and --only go with --from offsite");
  const file = r.values.file;
  if (file === undefined) throw new UsageError("missing required flag --file <dump> (or --from offsite)");
  if (!/\.(dump|sql|sql\.gz)$/.test(file))
    throw new UsageError(
      `--file must be a .dump or globals_*.sql written by the backup job, or a .sql.gz (old cron dump or npm run migrate's pg_dumpall) (got "${file}")`,
    );
  if (file.endsWith(".dump") && !targetDatabase(file, database)) {
    throw new UsageError(`cannot tell the database from "${file}": add --database <db>`);
  }
  return { help: false, options: { stack, file, database, yes } };
}

export async function main(argv: string[], io: Io, deps: HostDeps = defaultHostDeps): Promise<number> {
  const parsed = handleArgs(RESTORE_SPEC, io, () => parseRestoreArgs(argv));
  if (parsed.kind === "exit") return parsed.code;
  if ("from" in parsed.options) return restoreOffsite(parsed.options, io, deps);
  const { stack, file, database, yes } = parsed.options;
  const opened = await deps.openStack(stack);
  const outputs = backupOutputs(stack, opened.outputs);
  const dump = dumpPath(file, outputs.backupDir);
  const target = file.endsWith(".sql")
    ? "the cluster's roles"
    : file.endsWith(".sql.gz")
      ? database
        ? `database ${database}`
        : "the server (a pg_dumpall dump)"
      : `database ${targetDatabase(file, database)}`;

  io.out(
    `restore: ${dump} into ${target} of stack ${stack} (on ${describeHost(opened.target)}); objects in the dump are dropped and recreated\n`,
  );
  if (!yes) {
    if (!io.isTTY) {
      io.err("restore: refusing without a terminal to confirm on: add --yes\n");
      return 2;
    }
    if (!(await confirm(io, "Restore now?"))) {
      io.out("restore: cancelled, nothing changed\n");
      return 1;
    }
  }
  const args = [dump, ...(database ? [database] : [])].map(shellQuote).join(" ");
  const code = await deps.run(opened.target, `${outputs.restoreCommand} ${args}`);
  return code === 0 ? 0 : 1;
}

/** Restores an off-site snapshot onto the stack's host, through offsite.sh there (the credentials never leave it). */
async function restoreOffsite(options: OffsiteRestoreOptions, io: Io, deps: HostDeps): Promise<number> {
  const { stack, snapshot, only, yes } = options;
  const opened = await deps.openStack(stack);
  const offsite = offsiteInfo(opened.outputs);
  if (!offsite.enabled) {
    io.err(
      `restore: stack ${stack} has no off-site repository: set ems-infra:backupOffsite and deploy (README, "Off-site backups")\n`,
    );
    return 2;
  }
  io.out(
    `restore: ${only ?? "everything (databases, uploads, ACME store, Portainer, config)"} from off-site snapshot ${snapshot ?? "latest"} onto stack ${stack} (on ${describeHost(opened.target)}); files are overwritten, databases dropped and recreated\n`,
  );
  if (!yes) {
    if (!io.isTTY) {
      io.err("restore: refusing without a terminal to confirm on: add --yes\n");
      return 2;
    }
    if (!(await confirm(io, "Restore now?"))) {
      io.out("restore: cancelled, nothing changed\n");
      return 1;
    }
  }
  const code = await deps.run(opened.target, offsiteRestoreCommand(offsite, offsiteRestoreArgs({ snapshot, only })));
  return code === 0 ? 0 : 1;
}

if (require.main === module) runCli(main);

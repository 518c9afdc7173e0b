/** Where a restore reads its dump and which database it replaces. */
import * as path from "path";

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

/** What a restore replaces, for the message before it asks. */
export function restoreTarget(file: string, database?: string): string {
  if (file.endsWith(".sql")) return "the cluster's roles";
  if (file.endsWith(".sql.gz")) return database ? `database ${database}` : "the server (a pg_dumpall dump)";
  return `database ${targetDatabase(file, database)}`;
}

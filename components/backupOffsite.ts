/** The files and commands of the off-site copy (restic, components/scripts/offsite.sh). */
import { shellQuote } from "./shell";

/** What a snapshot holds, one tag each; `--only` of a restore names one. */
export const OFFSITE_KINDS = ["db", "uploads", "acme", "portainer", "config"] as const;
export type OffsiteKind = (typeof OFFSITE_KINDS)[number];

/** The repository and its credentials (all secret). */
export interface OffsiteTarget {
  /** Any restic repository: `sftp:user@host:/path`, `s3:https://…/bucket`, `rest:https://…/`, `b2:bucket:/path`. */
  repository: string;
  /** The repository's encryption password. */
  password: string;
  /** The target's credentials as restic reads them (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY, …). */
  env?: Record<string, string>;
}

/** The mode-600 file offsite.sh sources: `NAME='value'` lines (never a command line, never `docker inspect`). */
export function offsiteEnvFile(target: OffsiteTarget): string {
  const env = target.env ?? {};
  for (const name of Object.keys(env)) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name))
      throw new Error(`offsiteEnvFile: ${JSON.stringify(name)} is not a variable name`);
    if (name === "RESTIC_REPOSITORY" || name === "RESTIC_PASSWORD")
      throw new Error(`offsiteEnvFile: ${name} comes from the repository and password keys, not env`);
  }
  const lines = [
    ["RESTIC_REPOSITORY", target.repository],
    ["RESTIC_PASSWORD", target.password],
    ...Object.entries(env),
  ].map(([k, v]) => `${k}=${shellQuote(v)}`);
  return `${lines.join("\n")}\n`;
}

/** One folder the nightly run copies. `portainer` may be `volume:<name>` (the volume's mount point). */
export interface OffsitePath {
  kind: Exclude<OffsiteKind, "db">;
  path: string;
}

/** The `kind<TAB>path` file offsite.sh reads. */
export function offsitePathsFile(paths: readonly OffsitePath[]): string {
  for (const p of paths) {
    if (/[\t\n\r]/.test(p.path) || !(p.path.startsWith("/") || p.path.startsWith("volume:")))
      throw new Error(`offsitePathsFile: ${JSON.stringify(p.path)} is not an absolute path on one line`);
  }
  return paths.map((p) => `${p.kind}\t${p.path}\n`).join("");
}

/** Where the off-site job keeps its files on the host. */
export interface OffsiteFiles {
  /** The credentials file (mode 600, in the secrets folder). */
  envFile: string;
  /** The paths file (next to the scripts). */
  pathsFile: string;
  /** The folder the results are recorded in (last-backup, last-drill). */
  stateDir: string;
  /** restic's --host of the snapshots: the system's name (on a swarm, `<system>@<node address>`). */
  host: string;
}

/** The environment offsite.sh (and backup.sh, which ends with it) needs, as shell assignments. */
export function offsiteEnvAssignments(
  files: OffsiteFiles,
  keep: { daily: number; weekly: number; monthly: number },
  lockWaitSeconds?: number,
): string[] {
  if (lockWaitSeconds !== undefined && !(Number.isInteger(lockWaitSeconds) && lockWaitSeconds >= 0))
    throw new Error(`offsiteEnvAssignments: lockWaitSeconds ${lockWaitSeconds} is not a whole number of seconds`);
  return [
    `OFFSITE_ENV=${shellQuote(files.envFile)}`,
    `OFFSITE_PATHS=${shellQuote(files.pathsFile)}`,
    `OFFSITE_STATE=${shellQuote(files.stateDir)}`,
    `OFFSITE_HOST=${shellQuote(files.host)}`,
    `OFFSITE_KEEP_DAILY=${keep.daily}`,
    `OFFSITE_KEEP_WEEKLY=${keep.weekly}`,
    `OFFSITE_KEEP_MONTHLY=${keep.monthly}`,
    ...(lockWaitSeconds ? [`OFFSITE_LOCK_WAIT=${lockWaitSeconds}`] : []),
  ];
}

/** `restore` options of offsite.sh, checked (they reach a shell). */
export function offsiteRestoreArgs(options: { snapshot?: string; only?: OffsiteKind }): string[] {
  if (options.snapshot !== undefined && !/^([0-9a-f]{8,64}|latest)$/.test(options.snapshot))
    throw new Error(`--snapshot must be a snapshot id (8 to 64 hex digits) or latest (got "${options.snapshot}")`);
  if (options.only !== undefined && !(OFFSITE_KINDS as readonly string[]).includes(options.only))
    throw new Error(`--only must be one of ${OFFSITE_KINDS.join(", ")} (got "${options.only}")`);
  return [
    ...(options.snapshot ? ["--snapshot", options.snapshot] : []),
    ...(options.only ? ["--only", options.only] : []),
  ];
}

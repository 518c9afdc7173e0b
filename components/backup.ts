import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, hostCommand } from "./hostCommand";
import { crontabLine, readScript, shellQuote } from "./shell";

export interface BackupArgs {
  /** Cron schedule of the backup (5 fields, host time zone). */
  schedule: string;
  /** Folder the dumps are written to (the seed's data/backups). */
  backupDir: string;
  /** Folder the backup and restore scripts are installed in. */
  scriptsDir: string;
  /** Log file the scheduled runs append to. */
  logFile: string;
  /** Daily dumps kept per database. */
  keepDaily: number;
  /** Weekly dumps kept per database, beyond the daily ones. */
  keepWeekly: number;
  /** Postgres container the dumps are taken in (pg_dump of the server's own version). */
  postgresContainer: pulumi.Input<string>;
  /** Postgres role the dumps connect as. */
  postgresUser: string;
  /** Name of the crontab entry; one per system on a host. */
  jobName: string;
  /** SSH connection to the host; absent runs on this machine. */
  connection?: HostConnection;
}

/** The files the backup job installs on the host. */
export const BACKUP_SCRIPTS = ["backup.sh", "backup-retention.sh", "restore.sh"] as const;

/** The command prefix that runs the Postgres client tools inside the server's container. */
export function pgExec(container: string, user: string): string {
  // backup.sh word-splits PG_EXEC on purpose (a command prefix): each part must be one word.
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(container))
    throw new Error(`pgExec: ${JSON.stringify(container)} is not a container name`);
  if (!/^[a-z_][a-z0-9_]*$/.test(user))
    throw new Error(`pgExec: ${JSON.stringify(user)} is not a PostgreSQL role name`);
  return `docker exec -i -e PGUSER=${user} ${container}`;
}

/** The command the schedule runs: backup.sh with the job's folder, retention and Postgres container. */
export function backupRunCommand(
  args: Omit<BackupArgs, "postgresContainer" | "connection">,
  postgresContainer: string,
): string {
  const env = [
    `BACKUP_DIR=${shellQuote(args.backupDir)}`,
    `KEEP_DAILY=${args.keepDaily}`,
    `KEEP_WEEKLY=${args.keepWeekly}`,
    `PG_EXEC=${shellQuote(pgExec(postgresContainer, args.postgresUser))}`,
  ].join(" ");
  return `${env} ${shellQuote(`${args.scriptsDir}/backup.sh`)}`;
}

/** The command prefix that restores a dump on the host: append the file (and optionally the database). */
export function restoreCommandPrefix(
  args: Pick<BackupArgs, "scriptsDir" | "postgresUser">,
  postgresContainer: string,
): string {
  return `PG_EXEC=${shellQuote(pgExec(postgresContainer, args.postgresUser))} ${shellQuote(`${args.scriptsDir}/restore.sh`)}`;
}

/** The crontab line that runs the backup on schedule; the trailing shell comment marks it as this job's. */
export function backupCronLine(
  args: Omit<BackupArgs, "postgresContainer" | "connection">,
  postgresContainer: string,
): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(args.jobName))
    throw new Error(`backupCronLine: bad job name ${JSON.stringify(args.jobName)}`);
  return crontabLine(
    args.schedule,
    `${backupRunCommand(args, postgresContainer)} >> ${shellQuote(args.logFile)} 2>&1 # ems-infra:${args.jobName}`,
  );
}

/**
 * The installer run on the host: writes the scripts and replaces this job's crontab entry (found by its
 * marker), leaving every other entry as it was. Running it twice changes nothing.
 */
export function backupInstallScript(
  args: Omit<BackupArgs, "postgresContainer" | "connection">,
  postgresContainer: string,
): string {
  const files = BACKUP_SCRIPTS.map((file) => {
    const target = shellQuote(`${args.scriptsDir}/${file}`);
    return `cat > ${target} <<'EMS_INFRA_EOF'\n${readScript(file).replace(/\n?$/, "\n")}EMS_INFRA_EOF\nchmod 755 ${target}`;
  });
  const marker = `# ems-infra:${args.jobName}`;
  return [
    "set -eu",
    // The log file's folder too: cron cannot redirect into a missing folder, and then never runs the backup.
    `mkdir -p ${shellQuote(args.scriptsDir)} ${shellQuote(args.backupDir)} ${shellQuote(path.posix.dirname(args.logFile))}`,
    ...files,
    `current=$(crontab -l 2>/dev/null || true)`,
    `printf '%s\\n' "$current" | grep -vF ${shellQuote(marker)} | sed '/^$/d' > "\${TMPDIR:-/tmp}/ems-infra-crontab.$$" || true`,
    `printf '%s\\n' ${shellQuote(backupCronLine(args, postgresContainer))} >> "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    `crontab "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    `rm -f "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    `echo ${shellQuote(`backup: scheduled '${args.schedule}' into ${args.backupDir}`)}`,
    "",
  ].join("\n");
}

/** Scheduled pg_dump backups with retention, run by the host's cron (the seed's way). */
export class Backup extends pulumi.ComponentResource {
  /** Where the dumps land. */
  public readonly backupDir: pulumi.Output<string>;
  /** The crontab line installed. */
  public readonly cronLine: pulumi.Output<string>;
  /** What `npm run backup` runs on the host: the same command as the schedule. */
  public readonly runCommand: pulumi.Output<string>;
  /** What `npm run restore` runs on the host, followed by the dump file. */
  public readonly restoreCommand: pulumi.Output<string>;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Backup", name, {}, opts);
    const script = pulumi.output(args.postgresContainer).apply((container) => backupInstallScript(args, container));
    // A changed script or schedule re-runs the installer as an update (it replaces its own crontab line).
    hostCommand(`${name}-schedule`, { create: "sh -s", stdin: script }, args.connection, { parent: this });
    this.backupDir = pulumi.output(args.backupDir);
    this.cronLine = pulumi.output(args.postgresContainer).apply((container) => backupCronLine(args, container));
    this.runCommand = pulumi.output(args.postgresContainer).apply((container) => backupRunCommand(args, container));
    this.restoreCommand = pulumi
      .output(args.postgresContainer)
      .apply((container) => restoreCommandPrefix(args, container));
    this.registerOutputs({
      backupDir: this.backupDir,
      cronLine: this.cronLine,
      runCommand: this.runCommand,
      restoreCommand: this.restoreCommand,
    });
  }
}

import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { OffsitePath, OffsiteTarget, offsiteEnvAssignments, offsiteEnvFile, offsitePathsFile } from "./backupOffsite";
import { HostConnection, hostCommand } from "./hostCommand";
import { cronJobMarker, crontabLine, readScript, shellQuote, withoutCronJobs, writeFilesScript } from "./shell";

/** The off-site copy of every run (restic): present, it is on. */
export interface BackupOffsiteArgs {
  /** The repository, its password and the target's credentials (secrets: they reach the host in a mode-600 file). */
  target: pulumi.Input<OffsiteTarget>;
  /** Folder (mode 700) the credentials file `offsite.env` is written in. */
  secretsDir: string;
  /** The folders each run copies besides the dumps: uploads, ACME store, Portainer's data, host-side config. */
  paths: OffsitePath[];
  /** Folder the results are recorded in (last-backup, last-drill). */
  stateDir: string;
  /** restic's --host of the snapshots: the system's name. */
  host: string;
  /** Snapshots kept per day, week and month (restic forget --prune). */
  keep: { daily: number; weekly: number; monthly: number };
  /** Cron schedule of the restore drill. */
  drillSchedule: string;
  /** Image of the drill's scratch PostgreSQL: the live server's. */
  drillImage: string;
  /** Seconds a run waits for a lock another live restic holds (swarm nodes share the repository); 0 or absent: none. */
  lockWaitSeconds?: number;
}

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
  /**
   * How `postgresContainer` is found on the host: `container`, a container of that name (default); `swarm-service`,
   * the running task of that Swarm service on this node (its container name carries a task id).
   */
  postgresRunsAs?: PostgresRunsAs;
  /** Postgres role the dumps connect as. */
  postgresUser: string;
  /** Name of the crontab entry; one per system on a host. */
  jobName: string;
  /** SSH connection to the host; absent runs on this machine. */
  connection?: HostConnection;
  /** The encrypted off-site copy; absent, only the local dumps are made. */
  offsite?: BackupOffsiteArgs;
}

/** The files the backup job installs on the host. */
export const BACKUP_SCRIPTS = ["backup.sh", "backup-retention.sh", "restore.sh", "offsite.sh"] as const;

/** The host files of the off-site copy: the credentials file, the paths file, the results folder. */
function offsiteFiles(args: Pick<BackupArgs, "scriptsDir" | "offsite">) {
  const o = args.offsite;
  if (!o) return undefined;
  return {
    envFile: path.posix.join(o.secretsDir, "offsite.env"),
    pathsFile: path.posix.join(args.scriptsDir, "offsite.paths"),
    stateDir: o.stateDir,
    host: o.host,
  };
}

/** The off-site environment of the backup and drill commands (file paths and counts: nothing secret). */
function offsiteAssignments(args: Pick<BackupArgs, "scriptsDir" | "offsite">): string[] {
  const files = offsiteFiles(args);
  return files && args.offsite ? offsiteEnvAssignments(files, args.offsite.keep, args.offsite.lockWaitSeconds) : [];
}

/**
 * The command prefix of offsite.sh on the host (append `restore …`, `drill` or `status`): its files, the live
 * Postgres for a restore, the scratch image for a drill. Empty when the off-site copy is off.
 */
export function offsiteCommandPrefix(
  args: Omit<BackupArgs, "postgresContainer" | "connection">,
  postgresContainer: string,
): string {
  if (!args.offsite) return "";
  const env = [
    `BACKUP_DIR=${shellQuote(args.backupDir)}`,
    ...offsiteAssignments(args),
    pgExecAssignment(args, postgresContainer),
    `DRILL_PG_IMAGE=${shellQuote(args.offsite.drillImage)}`,
  ].join(" ");
  return `${env} sh ${shellQuote(`${args.scriptsDir}/offsite.sh`)}`;
}

/** The crontab line of the weekly restore drill, marked `# ems-infra:drill-<backup job>`. */
function drillCronLine(
  args: Omit<BackupArgs, "postgresContainer" | "connection">,
  postgresContainer: string,
): string | undefined {
  if (!args.offsite) return undefined;
  return crontabLine(
    args.offsite.drillSchedule,
    `${offsiteCommandPrefix(args, postgresContainer)} drill >> ${shellQuote(args.logFile)} 2>&1 ${cronJobMarker(drillJobName(args.jobName))}`,
  );
}

/**
 * The crontab job of the drill: `drill-<backup job>`. Not `<backup job>-drill`: the backup job's marker would be
 * a part of it, and the drift check counts the lines holding that marker.
 */
export function drillJobName(backupJob: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(backupJob)) throw new Error(`drillJobName: bad job name ${JSON.stringify(backupJob)}`);
  return `drill-${backupJob}`;
}

/**
 * How the Postgres server is found on the backup job's host: a named container, or a Swarm service's task.
 * @public the type of BackupArgs.postgresRunsAs (the component's API), though callers pass a literal.
 */
export type PostgresRunsAs = "container" | "swarm-service";

/** The command prefix that runs the Postgres client tools inside the server's container. */
export function pgExec(container: string, user: string): string {
  // backup.sh word-splits PG_EXEC on purpose (a command prefix): each part must be one word.
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(container))
    throw new Error(`pgExec: ${JSON.stringify(container)} is not a container name`);
  if (!/^[a-z_][a-z0-9_]*$/.test(user))
    throw new Error(`pgExec: ${JSON.stringify(user)} is not a PostgreSQL role name`);
  return `docker exec -i -e PGUSER=${user} ${container}`;
}

/**
 * The shell words that name the running task of a Swarm service on this node, for `docker exec`: the first
 * container with the service's label, else a name that makes docker say which service has no task here (an empty
 * word would make `docker exec` take pg_dump for the container).
 */
export function swarmTaskExecTarget(service: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(service))
    throw new Error(`swarmTaskExecTarget: ${JSON.stringify(service)} is not a Swarm service name`);
  return `$(docker ps -q --filter label=com.docker.swarm.service.name=${service} | head -n 1 | grep . || echo no-running-task-of-${service}-on-this-node)`;
}

/**
 * The `PG_EXEC=…` assignment of the host commands. A container's is one quoted word; a Swarm service's is
 * double-quoted so the task is looked up each run (a rescheduled task gets a new container), when the command runs.
 */
function pgExecAssignment(
  args: Pick<BackupArgs, "postgresUser" | "postgresRunsAs">,
  postgresContainer: string,
): string {
  const prefix = pgExec(postgresContainer, args.postgresUser);
  if ((args.postgresRunsAs ?? "container") === "container") return `PG_EXEC=${shellQuote(prefix)}`;
  return `PG_EXEC="${prefix.slice(0, -postgresContainer.length)}${swarmTaskExecTarget(postgresContainer)}"`;
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
    pgExecAssignment(args, postgresContainer),
    ...offsiteAssignments(args),
  ].join(" ");
  return `${env} ${shellQuote(`${args.scriptsDir}/backup.sh`)}`;
}

/** The command prefix that restores a dump on the host: append the file (and optionally the database). */
export function restoreCommandPrefix(
  args: Pick<BackupArgs, "scriptsDir" | "postgresUser" | "postgresRunsAs">,
  postgresContainer: string,
): string {
  return `${pgExecAssignment(args, postgresContainer)} ${shellQuote(`${args.scriptsDir}/restore.sh`)}`;
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
    `${backupRunCommand(args, postgresContainer)} >> ${shellQuote(args.logFile)} 2>&1 ${cronJobMarker(args.jobName)}`,
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
  // The drill's entry is always removed (the off-site copy may have been turned off), and written when on.
  const ownJobs = [args.jobName, drillJobName(args.jobName)];
  const drill = drillCronLine(args, postgresContainer);
  const offsite = args.offsite;
  const pathsFile = offsiteFiles(args)?.pathsFile;
  return [
    "set -eu",
    // The log file's folder too: cron cannot redirect into a missing folder, and then never runs the backup.
    `mkdir -p ${shellQuote(args.scriptsDir)} ${shellQuote(args.backupDir)} ${shellQuote(path.posix.dirname(args.logFile))}`,
    ...files,
    ...(offsite && pathsFile
      ? [
          `cat > ${shellQuote(pathsFile)} <<'EMS_INFRA_EOF'\n${offsitePathsFile(offsite.paths)}EMS_INFRA_EOF`,
          `mkdir -p -m 700 ${shellQuote(offsite.stateDir)}`,
          `command -v restic >/dev/null || echo 'backup: WARNING restic is not installed: the off-site copy fails until apt-get install restic' >&2`,
        ]
      : []),
    `current=$(crontab -l 2>/dev/null || true)`,
    `printf '%s\\n' "$current" | ${withoutCronJobs(ownJobs)} | sed '/^$/d' > "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    `printf '%s\\n' ${shellQuote(backupCronLine(args, postgresContainer))} >> "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    ...(drill ? [`printf '%s\\n' ${shellQuote(drill)} >> "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`] : []),
    `crontab "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    `rm -f "\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`,
    `echo ${shellQuote(`backup: scheduled '${args.schedule}' into ${args.backupDir}`)}`,
    "",
  ].join("\n");
}

/** Writes the repository's credentials into `offsite.env` (mode 600) on the host, from stdin: never an argument. */
export function offsiteCredentials(
  name: string,
  offsite: BackupOffsiteArgs,
  connection: HostConnection | undefined,
  parent: pulumi.Resource,
) {
  return hostCommand(
    `${name}-offsite-credentials`,
    {
      create: "sh -s",
      stdin: pulumi.secret(
        pulumi
          .output(offsite.target)
          .apply((t) =>
            writeFilesScript(offsite.secretsDir, [{ name: "offsite.env", content: offsiteEnvFile(t), mode: "600" }]),
          ),
      ),
    },
    connection,
    { parent, additionalSecretOutputs: ["stdin"] },
  );
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
  /** offsite.sh with its environment, followed by `restore …`, `drill` or `status` ("" when off). */
  public readonly offsiteCommand: pulumi.Output<string>;
  /** The drill's crontab line ("" when off). */
  public readonly drillCronLine: pulumi.Output<string>;

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Backup", name, {}, opts);
    const script = pulumi.output(args.postgresContainer).apply((container) => backupInstallScript(args, container));
    // A changed script or schedule re-runs the installer as an update (it replaces its own crontab line).
    const credentials = args.offsite ? offsiteCredentials(name, args.offsite, args.connection, this) : undefined;
    hostCommand(`${name}-schedule`, { create: "sh -s", stdin: script }, args.connection, {
      parent: this,
      dependsOn: credentials ? [credentials] : [],
    });
    this.backupDir = pulumi.output(args.backupDir);
    this.cronLine = pulumi.output(args.postgresContainer).apply((container) => backupCronLine(args, container));
    this.runCommand = pulumi.output(args.postgresContainer).apply((container) => backupRunCommand(args, container));
    this.restoreCommand = pulumi
      .output(args.postgresContainer)
      .apply((container) => restoreCommandPrefix(args, container));
    this.offsiteCommand = pulumi
      .output(args.postgresContainer)
      .apply((container) => offsiteCommandPrefix(args, container));
    this.drillCronLine = pulumi
      .output(args.postgresContainer)
      .apply((container) => drillCronLine(args, container) ?? "");
    this.registerOutputs({
      backupDir: this.backupDir,
      cronLine: this.cronLine,
      runCommand: this.runCommand,
      restoreCommand: this.restoreCommand,
      offsiteCommand: this.offsiteCommand,
      drillCronLine: this.drillCronLine,
    });
  }
}

/**
 * The off-site copy of a host that takes no database dumps: a swarm node holding the ACME store, Traefik's dynamic
 * folder, Portainer's data or uploads. offsite.sh on the node's own cron, into the backup job's repository under
 * the node's own restic host name (the Backup component runs the Postgres node's, dumps included).
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { BackupOffsiteArgs, drillJobName, offsiteCredentials } from "./backup";
import { offsiteEnvAssignments, offsitePathsFile } from "./backupOffsite";
import { HostConnection, hostCommand } from "./hostCommand";
import { cronJobMarker, crontabLine, readScript, shellQuote, withoutCronJobs } from "./shell";

export interface OffsiteJobArgs {
  /** Cron schedule of the copy (5 fields, host time zone): the backup job's. */
  schedule: string;
  /** Folder offsite.sh and its paths file are installed in. */
  scriptsDir: string;
  /** Log file the scheduled runs append to. */
  logFile: string;
  /** Name of the crontab entry (`# ems-infra:<job>`); the drill's is `drill-<job>`. */
  jobName: string;
  /** The repository, this node's folders, its restic host name, retention and drill schedule. */
  offsite: BackupOffsiteArgs;
  /** SSH connection to the node; absent runs on this machine. */
  connection?: HostConnection;
}

const JOB_NAME = /^[A-Za-z0-9_.-]+$/;

/** offsite.sh with the node's environment (no BACKUP_DIR: the node takes no dumps); append `backup`, `drill`… */
export function offsiteJobCommandPrefix(args: Omit<OffsiteJobArgs, "connection">): string {
  const o = args.offsite;
  const env = offsiteEnvAssignments(
    {
      envFile: path.posix.join(o.secretsDir, "offsite.env"),
      pathsFile: path.posix.join(args.scriptsDir, "offsite.paths"),
      stateDir: o.stateDir,
      host: o.host,
    },
    o.keep,
    o.lockWaitSeconds,
  );
  return `${env.join(" ")} sh ${shellQuote(`${args.scriptsDir}/offsite.sh`)}`;
}

/** The crontab lines of the node: the nightly copy, then the drill (`# ems-infra:drill-<job>`). */
export function offsiteJobCronLines(args: Omit<OffsiteJobArgs, "connection">): { backup: string; drill: string } {
  if (!JOB_NAME.test(args.jobName))
    throw new Error(`offsiteJobCronLines: bad job name ${JSON.stringify(args.jobName)}`);
  const prefix = offsiteJobCommandPrefix(args);
  const log = shellQuote(args.logFile);
  return {
    backup: crontabLine(args.schedule, `${prefix} backup >> ${log} 2>&1 ${cronJobMarker(args.jobName)}`),
    drill: crontabLine(
      args.offsite.drillSchedule,
      `${prefix} drill >> ${log} 2>&1 ${cronJobMarker(drillJobName(args.jobName))}`,
    ),
  };
}

/**
 * The installer run on the node: offsite.sh, its paths file, the results folder, and this job's two crontab
 * entries in place of the old ones (a line is this job's when it ends with its exact marker). Idempotent.
 */
export function offsiteJobInstallScript(args: Omit<OffsiteJobArgs, "connection">): string {
  const lines = offsiteJobCronLines(args);
  const script = shellQuote(`${args.scriptsDir}/offsite.sh`);
  const pathsFile = shellQuote(`${args.scriptsDir}/offsite.paths`);
  const tmp = `"\${TMPDIR:-/tmp}/ems-infra-crontab.$$"`;
  return [
    "set -eu",
    `mkdir -p ${shellQuote(args.scriptsDir)} ${shellQuote(path.posix.dirname(args.logFile))}`,
    `cat > ${script} <<'EMS_INFRA_EOF'\n${readScript("offsite.sh").replace(/\n?$/, "\n")}EMS_INFRA_EOF`,
    `chmod 755 ${script}`,
    `cat > ${pathsFile} <<'EMS_INFRA_EOF'\n${offsitePathsFile(args.offsite.paths)}EMS_INFRA_EOF`,
    `mkdir -p -m 700 ${shellQuote(args.offsite.stateDir)}`,
    `command -v restic >/dev/null || echo 'offsite: WARNING restic is not installed: the off-site copy fails until apt-get install restic' >&2`,
    `current=$(crontab -l 2>/dev/null || true)`,
    `printf '%s\\n' "$current" | ${withoutCronJobs([args.jobName, drillJobName(args.jobName)])} | sed '/^$/d' > ${tmp}`,
    `printf '%s\\n' ${shellQuote(lines.backup)} ${shellQuote(lines.drill)} >> ${tmp}`,
    `crontab ${tmp}`,
    `rm -f ${tmp}`,
    `echo ${shellQuote(`offsite: scheduled '${args.schedule}' as ${args.offsite.host}`)}`,
    "",
  ].join("\n");
}

/** The off-site copy of a node that takes no dumps, on the node's cron (components/scripts/offsite.sh). */
export class OffsiteJob extends pulumi.ComponentResource {
  /** offsite.sh with the node's environment, followed by `restore …`, `drill` or `status`. */
  public readonly command: pulumi.Output<string>;
  /** The nightly copy's crontab line. */
  public readonly cronLine: pulumi.Output<string>;
  /** The drill's crontab line. */
  public readonly drillCronLine: pulumi.Output<string>;

  constructor(name: string, args: OffsiteJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:OffsiteJob", name, {}, opts);
    const credentials = offsiteCredentials(name, args.offsite, args.connection, this);
    hostCommand(`${name}-schedule`, { create: "sh -s", stdin: offsiteJobInstallScript(args) }, args.connection, {
      parent: this,
      dependsOn: [credentials],
    });
    const lines = offsiteJobCronLines(args);
    this.command = pulumi.output(offsiteJobCommandPrefix(args));
    this.cronLine = pulumi.output(lines.backup);
    this.drillCronLine = pulumi.output(lines.drill);
    this.registerOutputs({ command: this.command, cronLine: this.cronLine, drillCronLine: this.drillCronLine });
  }
}

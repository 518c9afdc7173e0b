/**
 * What the operations need per node on a swarm: the off-site copy (issue 17's restic design, one job per node that
 * holds something worth keeping, into one repository under the node's own restic host name), and what `npm run
 * drift` checks on each node. The folders come from stacks/swarm.ts `swarmNodeFolders`: no second copy of the rules.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backup, BackupOffsiteArgs, drillJobName } from "../components/backup";
import { OffsitePath } from "../components/backupOffsite";
import { HostConnection } from "../components/hostCommand";
import { HostFolder } from "../components/hostLayout";
import { OffsiteJob } from "../components/offsiteJob";
import { StackConfig, SwarmNode } from "./config";
import { HostExpectations } from "./hostExpectations";
import { OpsOutputs } from "./opsContract";
import { OffsiteOutputs, backupLogFile, offsiteArgs, offsiteStateDir } from "./system";
import * as path from "path";

/**
 * How long a node's run waits for another node's live restic lock (restic 0.14 has no --retry-lock): the nightly
 * jobs of every node start together, and a `forget --prune` needs the repository to itself.
 */
export const SWARM_OFFSITE_LOCK_WAIT_SECONDS = 3600;

/** One node of the cluster as the composition sees it. */
export interface SwarmNodePlan {
  node: SwarmNode;
  connection: HostConnection;
  /** swarmNodeFolders of the node. */
  folders: HostFolder[];
  /** The node holds Postgres's volume (its pin): its job takes the dumps. */
  holdsPostgres: boolean;
  /** The node holds Portainer's data volume (its pin), when Portainer is enabled. */
  holdsPortainer: boolean;
  /** The node's folder layout (the job runs after it). */
  layout: pulumi.Resource;
}

/** The restic host name of a node's snapshots: `<system>@<node address>`. */
export function nodeOffsiteHost(system: string, address: string): string {
  return `${system}@${address}`;
}

/** Of what the off-site copy keeps (offsiteArgs), what is on this node: its folders, and Portainer's volume. */
function nodeOffsitePaths(
  all: readonly OffsitePath[],
  folders: readonly HostFolder[],
  holdsPortainer: boolean,
): OffsitePath[] {
  const here = new Set(folders.map((f) => f.path));
  return all.filter((p) => (p.path.startsWith("volume:") ? holdsPortainer : here.has(p.path)));
}

/** A node's off-site job arguments (its paths and restic host), or undefined when the copy is off. */
export function nodeOffsiteArgs(cfg: StackConfig, plan: Pick<SwarmNodePlan, "node" | "folders" | "holdsPortainer">) {
  const base = offsiteArgs(cfg);
  if (!base) return undefined;
  return {
    ...base,
    paths: nodeOffsitePaths(base.paths, plan.folders, plan.holdsPortainer),
    host: nodeOffsiteHost(cfg.system, plan.node.address),
    lockWaitSeconds: SWARM_OFFSITE_LOCK_WAIT_SECONDS,
  } satisfies BackupOffsiteArgs;
}

/** The crontab job of the nodes that take no dumps. */
function offsiteJobName(system: string): string {
  return `${system}-offsite`;
}

/**
 * The off-site jobs of the nodes besides the Postgres one (whose Backup takes the dumps and copies its own
 * folders), for each node that holds something worth keeping; and the `offsite` and `swarm` outputs.
 */
export function swarmOpsOutputs(
  cfg: StackConfig,
  plans: readonly SwarmNodePlan[],
  backup: Backup,
  postgresService: pulumi.Output<string>,
): { offsite: pulumi.Output<OffsiteOutputs>; swarm: pulumi.Output<NonNullable<OpsOutputs["swarm"]>> } {
  const jobs = new Map<SwarmNodePlan, OffsiteJob>();
  for (const plan of plans) {
    const args = nodeOffsiteArgs(cfg, plan);
    if (plan.holdsPostgres || !args || args.paths.length === 0) continue;
    const slug = plan.node.address.replace(/[^A-Za-z0-9]/g, "-");
    const job = new OffsiteJob(
      `offsite-${slug}`,
      {
        schedule: cfg.backup.schedule,
        scriptsDir: path.posix.join(cfg.paths.data, "bin"),
        logFile: backupLogFile(cfg),
        jobName: offsiteJobName(cfg.system),
        offsite: args,
        connection: plan.connection,
      },
      { dependsOn: [plan.layout] },
    );
    jobs.set(plan, job);
  }
  const lines = (plan: SwarmNodePlan) => {
    const job = jobs.get(plan);
    if (plan.holdsPostgres) return [backup.offsiteCommand, backup.cronLine, backup.drillCronLine];
    return job
      ? [job.command, job.cronLine, job.drillCronLine]
      : [pulumi.output(""), pulumi.output(""), pulumi.output("")];
  };
  const perNode = pulumi.all(plans.map((p) => pulumi.all([...lines(p), postgresService])));
  const offsiteOn = offsiteArgs(cfg) !== undefined;
  const offsite = perNode.apply((values): OffsiteOutputs => ({
    enabled: offsiteOn,
    command: values[plans.findIndex((p) => p.holdsPostgres)][0],
    stateDir: offsiteStateDir(cfg),
    maxAgeHours: cfg.backup.offsite.maxAgeHours,
    drillMaxAgeDays: cfg.backup.offsite.drillMaxAgeDays,
    nodes: plans
      .map((p, i) => ({
        address: p.node.address,
        host: nodeOffsiteHost(cfg.system, p.node.address),
        command: values[i][0],
        database: p.holdsPostgres,
      }))
      .filter((n) => offsiteOn && n.command !== ""),
  }));
  const swarm = perNode.apply((values): NonNullable<OpsOutputs["swarm"]> => ({
    nodes: plans.map((p, i) => {
      const [, cronLine, drillLine, service] = values[i];
      const job = p.holdsPostgres ? `${cfg.system}-backup` : offsiteJobName(cfg.system);
      const expectations: HostExpectations = {
        folders: p.folders.map((f) => (f.mode ? { path: f.path, mode: f.mode } : { path: f.path })),
        ...(cronLine ? { cron: { job, line: cronLine } } : {}),
        ...(drillLine ? { drillCron: { job: drillJobName(job), line: drillLine } } : {}),
        ...(p.holdsPostgres
          ? {
              postgres: {
                container: service,
                runsAs: "swarm-service" as const,
                superuser: cfg.postgres.user,
                roles: cfg.services.map((s) => s.role),
                databases: cfg.services.map((s) => ({ name: s.database, owner: s.role })),
              },
            }
          : {}),
      };
      return { address: p.node.address, expectations };
    }),
    replicas: <Record<string, number>>{
      postgres: 1,
      traefik: 1,
      ...(cfg.portainer.enabled ? { portainer: 1 } : {}),
      ...Object.fromEntries(cfg.services.map((s) => [s.name, s.replicas])),
    },
  }));
  return { offsite, swarm };
}

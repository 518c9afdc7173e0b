/**
 * Where the off-site jobs run: the stack's host on one engine; on a swarm, each node the stack's `offsite.nodes`
 * output names (its own restic host name and offsite.sh command), reached with the node's SSH settings from
 * `ems-infra:swarm.nodes`. backup --drill, restore --from offsite and status run offsite.sh on every site.
 */
import { OffsiteInfo } from "./offsite";
import { StackLike } from "./runner/context";
import { describeHost, HostTarget } from "./runner/hostShell";
import { hostTargetOf } from "./runner/stackConfig";
import { swarmNodesOf } from "./swarm";

/** One host with an off-site job. */
export interface OffsiteSite {
  /** For messages: `user@host:port` and, on a swarm, the restic host name. */
  label: string;
  target: HostTarget;
  /** offsite.sh with the site's environment, followed by `restore …`, `drill` or `status`. */
  command: string;
  /** The site takes the database dumps (the one engine, the swarm's Postgres node). */
  database: boolean;
}

/** offsite.sh's exit status when a snapshot asked for by id was made by another host (another swarm node). */
export const NOT_THIS_HOSTS_SNAPSHOT = 3;

/** The sites of the stack's off-site copy, the database's first. */
export async function offsiteSites(stack: Pick<StackLike, "getConfig">, offsite: OffsiteInfo): Promise<OffsiteSite[]> {
  if (!offsite.nodes) {
    const target = await hostTargetOf(stack);
    return [{ label: describeHost(target), target, command: offsite.command, database: true }];
  }
  const configured = await swarmNodesOf(stack);
  const sites = offsite.nodes.map((n): OffsiteSite => {
    const node = configured.find((c) => c.connection.host === n.address);
    if (!node)
      throw new Error(
        `the stack's off-site job on node ${n.address} is not in ems-infra:swarm.nodes any more: deploy the stack first (npm run deploy)`,
      );
    return {
      label: `${describeHost(node.connection)} (${n.host})`,
      target: node.connection,
      command: n.command,
      database: n.database,
    };
  });
  return [...sites.filter((s) => s.database), ...sites.filter((s) => !s.database)];
}

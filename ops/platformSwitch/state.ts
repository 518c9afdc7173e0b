/**
 * The state move of a platform switch. Removing the one-engine composition from the program would make `pulumi up`
 * delete its containers, networks and volumes once the Swarm objects exist: the data volume is protected (the up
 * fails at its delete, leaving both platforms in the state), and a deleted old container or network leaves nothing
 * to start again if the switch has to be undone. So they are taken out of the state first (like
 * `pulumi state delete --force`, which also takes protected ones): the engine forgets them, the host keeps them. The
 * data volume is then adopted by name by the swarm platform; the old containers are removed by the switch once the
 * swarm serves. The rest (generated credentials, host folders, the backup job) stays in the state, unprotected: what
 * the swarm program still has carries over and is protected again by it, what it has not is deleted (with
 * retainOnDelete, only from the state).
 */
import type { Deployment } from "@pulumi/pulumi/automation";

/** The resource types of the one-engine platform that must outlive the up on the host. */
const OLD_PLATFORM_TYPES = [
  "docker:index/container:Container",
  "docker:index/network:Network",
  "docker:index/volume:Volume",
] as const;

interface StateResource {
  urn: string;
  type: string;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  deletedWith?: string;
  protect?: boolean;
  [key: string]: unknown;
}

interface StateDeployment {
  resources?: StateResource[];
  pending_operations?: unknown[];
  [key: string]: unknown;
}

/**
 * The backup job's host commands: on swarm the job runs on the database node, so its command changes type (local →
 * remote) and a new one is created; the old one's delete, run after it, would remove the job's crontab line by its
 * marker, the new line included. Out of the state, its delete never runs; the new install rewrites the line in place.
 */
const BACKUP_COMMAND = /::ems:infra:Backup\$command:(local|remote):Command::/;

/** Whether a resource of the state is the one-engine platform's, to be forgotten (kept on the host). */
function isOldPlatform(r: { urn: string; type: string }): boolean {
  return (OLD_PLATFORM_TYPES as readonly string[]).includes(r.type) || BACKUP_COMMAND.test(r.urn);
}

/** The state without the old platform's containers, networks and volumes (and every reference to them). */
export function withoutOldPlatform(state: Deployment): { state: Deployment; dropped: string[] } {
  const deployment = state.deployment as StateDeployment;
  const resources = deployment.resources ?? [];
  const dropped = resources.filter(isOldPlatform).map((r) => r.urn);
  const gone = new Set(dropped);
  const keep = (urns: string[] | undefined) => urns?.filter((u) => !gone.has(u));
  const kept = resources
    .filter((r) => !gone.has(r.urn))
    .map((r) => {
      const out: StateResource = { ...r };
      if (r.dependencies) out.dependencies = keep(r.dependencies);
      if (r.propertyDependencies)
        out.propertyDependencies = Object.fromEntries(
          Object.entries(r.propertyDependencies).map(([k, v]) => [k, keep(v) ?? []]),
        );
      if (r.deletedWith && gone.has(r.deletedWith)) delete out.deletedWith;
      // The swarm program protects what it still has again (its own `protect` options); a protected resource it no
      // longer has (the one-engine host-layout command) would fail the up at its delete. retainOnDelete still keeps
      // what it made on the host.
      delete out.protect;
      return out;
    });
  return { state: { ...state, deployment: { ...deployment, resources: kept } }, dropped };
}

/** The operations an interrupted update left in the state (the switch refuses to start on top of them). */
export function pendingOperations(state: Deployment): number {
  return ((state.deployment as StateDeployment).pending_operations ?? []).length;
}

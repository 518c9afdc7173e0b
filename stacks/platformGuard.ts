/**
 * A raw `pulumi up` (or preview) that would move a deployed stack to another platform is refused before any resource
 * is registered. Pulumi creates the new platform's objects before it deletes the old ones: a Swarm Postgres task
 * would start on the data volume the old container still runs on (two postmasters in separate PID namespaces both
 * start: README "Moving to Swarm"), Swarm Traefik's host-mode 80/443 would never bind beside the old Traefik, and
 * the old platform's protected volumes cannot be deleted. `npm run switch-platform` stops the old platform first
 * and sets `ems-infra:platformSwitch` for its own up.
 *
 * What the stack last deployed is read through a StackReference to the stack itself: the engine's builtin provider
 * reads the backend's last checkpoint, whose root outputs stay the previous update's until this program registers
 * its own at the end (a "same" step keeps the old outputs).
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";

/** The platform a deployed stack's outputs describe; undefined for a stack never deployed. */
export function deployedPlatform(outputs: { platform?: unknown; system?: unknown }): "docker" | "swarm" | undefined {
  if (outputs.platform === "swarm" || outputs.platform === "docker") return outputs.platform;
  // The one-engine composition exports no `platform` (stacks/opsContract.ts: absent means containers on one engine).
  return outputs.system === undefined ? undefined : "docker";
}

/** The refusal for a platform change the config asks for, or undefined when the up may go on. */
export function platformChangeRefusal(
  stack: string,
  last: "docker" | "swarm" | undefined,
  config: Pick<StackConfig, "platform" | "platformSwitch">,
): string | undefined {
  if (last === undefined || last === config.platform || config.platformSwitch === config.platform) return undefined;
  return (
    `ems-infra:platform is "${config.platform}" but stack ${stack} last deployed the "${last}" platform. ` +
    `A plain pulumi up would start the new platform's Postgres and Traefik while the old containers still hold the ` +
    `data volume and ports 80/443 (two PostgreSQL servers on one data folder corrupt it). Nothing was changed. ` +
    `Move with: npm run switch-platform -- --stack ${stack} (or set ems-infra:platform back to "${last}")`
  );
}

/** Reads the stack's own last outputs (a StackReference to itself) and throws the refusal, before anything else. */
export async function guardPlatformChange(config: Pick<StackConfig, "platform" | "platformSwitch">): Promise<void> {
  const self = new pulumi.StackReference("ems-infra-last-deployed", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const [platform, system] = await Promise.all([
    self.getOutputValue("platform") as Promise<unknown>,
    self.getOutputValue("system") as Promise<unknown>,
  ]);
  const refusal = platformChangeRefusal(pulumi.getStack(), deployedPlatform({ platform, system }), config);
  if (refusal) throw new pulumi.RunError(refusal);
}

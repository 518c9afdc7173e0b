/**
 * A raw `pulumi up` (or preview) that would move a deployed stack to another platform is refused before any resource
 * is registered. Pulumi creates the new platform's objects before it deletes the old ones: a Swarm Postgres task
 * would start on the data volume the old container still runs on (two postmasters in separate PID namespaces both
 * start: README "Moving to Swarm"), Swarm Traefik's host-mode 80/443 would never bind beside the old Traefik, and
 * the old platform's protected volumes cannot be deleted. `npm run switch-platform` stops the old platform first
 * and sets `ems-infra:platformSwitch` for its own up.
 *
 * What the stack last deployed is read as a StackReference to the stack itself reads it: the engine's builtin
 * provider reads the backend's last checkpoint, whose root outputs stay the previous update's until this program
 * registers its own at the end (a "same" step keeps the old outputs).
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";

/** The engine's builtin function that reads a stack's outputs from the backend (pulumi/pkg/resource/deploy/builtins.go). */
export const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

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

/**
 * Reads the stack's own last outputs and throws the refusal, before anything else. The engine's builtin invoke
 * `pulumi:pulumi:readStackOutputs` (what the SDK's StackReference itself calls) leaves nothing in the state: no read
 * resource to refresh, no `read` op in every preview.
 */
export async function guardPlatformChange(config: Pick<StackConfig, "platform" | "platformSwitch">): Promise<void> {
  const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const result = (await pulumi.runtime.invoke(READ_STACK_OUTPUTS, { name })) as { outputs?: Record<string, unknown> };
  const outputs = result?.outputs ?? {};
  const refusal = platformChangeRefusal(pulumi.getStack(), deployedPlatform(outputs), config);
  if (refusal) throw new pulumi.RunError(refusal);
}

/** The opening every everyday command (status, logs, exec) shares: select the stack, print the target, find the host. */
import type { Io } from "./cli";
import type { HostTarget } from "./hostShell";
import { environmentOf, hostTargetOf, mapOutput, stringOutput } from "./stackConfig";
import { printTarget } from "./target";
import type { OpsDeps, StackLike } from "./workspace";

export interface OpenedStack {
  stack: StackLike;
  /** Where host commands run: this machine or the host of `ems-infra:ssh`. */
  target: HostTarget;
  /** The `com.ems.environment` label value. */
  environment: string;
  /** `containers` output: service → container name (Traefik, Postgres, Portainer, the APIs), or Swarm service name. */
  named: Record<string, string>;
  /** `docker` (containers on one engine) or `swarm` (services on a cluster: ops/swarm.ts). */
  platform: "docker" | "swarm";
}

export async function openForHost(stackName: string, io: Io, deps: OpsDeps): Promise<OpenedStack> {
  const stack = await deps.openStack(stackName, deps.repoRoot, false);
  await printTarget(stack, io, deps);
  return {
    stack,
    target: await hostTargetOf(stack),
    environment: await environmentOf(stack),
    named: await mapOutput(stack, "containers"),
    platform: (await stringOutput(stack, "platform")) === "swarm" ? "swarm" : "docker",
  };
}

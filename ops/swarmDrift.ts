/**
 * `npm run drift` on a swarm: what the one-engine check reads on its host (folders and modes, the backup and
 * drill crontab entries, the Postgres roles and databases), read on each node from the stack's `swarm.nodes`
 * output, the roles through the Postgres task on its node; and each service's replica count and image in the
 * swarm's spec against the program's (a `docker service scale` or `update --image` made by hand).
 */
import { OpsOutputs } from "../stacks/opsContract";
import { formatHostDrift } from "./driftReport";
import { hostCheckCommand } from "./hostCommands/hostCheck";
import { swarmSpecCommand } from "./hostCommands/swarm";
import { parseHostCheck } from "./hostDrift";
import { Context, StackLike } from "./runner/context";
import { describeHost } from "./runner/hostShell";
import { describeError } from "./runner/io";
import { managerOf, swarmNodesOf } from "./swarm";

/** A service's spec as swarmSpecCommand printed it. */
export interface SwarmSpec {
  /** The replica count, `global`, or `missing`. */
  replicas: string;
  image: string;
}

export function parseSwarmSpecs(stdout: string): Map<string, SwarmSpec> {
  const specs = new Map<string, SwarmSpec>();
  for (const line of stdout.split("\n")) {
    const [name, replicas, image = ""] = line.split("\t");
    if (name && replicas) specs.set(name, { replicas, image });
  }
  return specs;
}

/**
 * The differences between the swarm's specs and the program's: one line per service whose replica count or
 * image differs, or that is missing. An image the engine pinned to a digest (`ref@sha256:…`) is the same image.
 */
export function specDifferences(
  outputs: Pick<OpsOutputs, "containers" | "images" | "swarm">,
  specs: Map<string, SwarmSpec>,
): string[] {
  const lines: string[] = [];
  for (const [service, name] of Object.entries(outputs.containers).sort()) {
    const spec = specs.get(name);
    if (!spec || spec.replicas === "missing") {
      lines.push(`service ${service} (${name}): missing`);
      continue;
    }
    const want = outputs.swarm?.replicas[service];
    if (want !== undefined && spec.replicas !== String(want))
      lines.push(`service ${service} (${name}): replicas ${spec.replicas}, want ${want}`);
    const image = outputs.images[service];
    if (image !== undefined && spec.image !== image && !spec.image.startsWith(`${image}@sha256:`))
      lines.push(`service ${service} (${name}): image ${spec.image}, want ${image}`);
  }
  return lines;
}

/** The swarm's host-side drift check; true when every node and service matches. */
export async function checkSwarmHosts(
  stack: StackLike,
  outputs: OpsOutputs,
  { io, host }: Pick<Context, "io" | "host">,
): Promise<boolean> {
  if (!outputs.swarm) {
    io.err(
      `error: stack ${stack.name} has no per-node expectations (it was deployed before they existed): deploy it once (npm run deploy -- --stack ${stack.name})\n`,
    );
    return false;
  }
  let clean = true;
  const configured = await swarmNodesOf(stack);
  for (const node of outputs.swarm.nodes) {
    const target = configured.find((c) => c.connection.host === node.address)?.connection;
    if (!target) {
      io.err(`error: node ${node.address} of the stack is not in ems-infra:swarm.nodes any more\n`);
      clean = false;
      continue;
    }
    io.out(
      `\nChecking node ${describeHost(target)}: folders, crontab entries${node.expectations.postgres ? ", database roles and owners" : ""}…\n`,
    );
    try {
      const result = await host.capture(target, hostCheckCommand(node.expectations), { timeoutMs: 120_000 });
      const drift = parseHostCheck(result);
      if (!drift.ok) {
        io.out(formatHostDrift(drift, `${stack.name} (node ${describeHost(target)})`));
        clean = false;
      }
    } catch (error) {
      io.err(`error: host check of node ${describeHost(target)} failed: ${describeError(error)}\n`);
      clean = false;
    }
  }
  io.out(`\nChecking the services' replica counts and images…\n`);
  try {
    const manager = await managerOf(stack);
    const result = await host.capture(manager, swarmSpecCommand(Object.values(outputs.containers)));
    if (result.code !== 0) throw new Error(result.stderr.trim() || `exit ${result.code}`);
    const differences = specDifferences(outputs, parseSwarmSpecs(result.stdout));
    if (differences.length) {
      io.out(
        `drift: the services of stack ${stack.name} differ from the program (${differences.length}):\n` +
          differences.map((d) => `  ${d}\n`).join("") +
          `To put them back: npm run deploy -- --stack ${stack.name}\n`,
      );
      clean = false;
    }
  } catch (error) {
    io.err(`error: service check of stack ${stack.name} failed: ${describeError(error)}\n`);
    clean = false;
  }
  return clean;
}

/**
 * The everyday commands on the swarm platform (`platform: swarm` in the stack outputs): status, logs and exec
 * through the first manager, in the same commands as the one-engine platform (ops/commands/status.ts, logs.ts and
 * exec.ts pick this once, from the stack's `platform` output).
 *
 * Rollback on a swarm: a version that never gets healthy is rolled back by Swarm itself during the deploy
 * (`failureAction: rollback`: the old tasks keep serving, the deploy fails); `npm run rollback` is the stack
 * history (it deploys the previous versions from config), the same as on one engine.
 */
import * as os from "os";
import { resolveHostPath } from "../stacks/config";
import { swarmSchema } from "../stacks/configSchema";
import type { HostConnection } from "../components/hostCommand";
import { SWARM_STATUS_SEPARATOR, swarmStatusCommand, taskNodeCommand } from "./hostCommands/swarm";
import { REPO_ROOT, StackLike } from "./runner/context";
import { HostShell, HostTarget } from "./runner/hostShell";
import { configValue, hostTargetOf } from "./runner/stackConfig";

/** One service's replicas and where its running tasks are. */
export interface SwarmServiceStatus {
  service: string;
  name: string;
  running: number;
  desired: number;
  /** Running tasks per node. */
  nodes: Record<string, number>;
}

/** Parses swarmStatusCommand's output; `named` maps service keys (ems, postgres...) to Swarm service names. */
export function parseSwarmStatus(stdout: string, named: Record<string, string>): SwarmServiceStatus[] {
  const [head, tasks = ""] = stdout.split(`${SWARM_STATUS_SEPARATOR}\n`);
  const byName = new Map<string, SwarmServiceStatus>();
  for (const [service, name] of Object.entries(named))
    byName.set(name, { service, name, running: 0, desired: 0, nodes: {} });
  for (const line of head.split("\n")) {
    const [name, replicas] = line.split("\t");
    const entry = byName.get(name);
    // `2/2`, or `1/1 (max 1 per node)`; a global service shows `3/3` too.
    const m = /^(\d+)\/(\d+)/.exec(replicas ?? "");
    if (entry && m) [entry.running, entry.desired] = [Number(m[1]), Number(m[2])];
  }
  for (const line of tasks.split("\n")) {
    const [name, node, state] = line.split("\t");
    const entry = byName.get(name);
    if (entry && node && /^Running/.test(state ?? "")) entry.nodes[node] = (entry.nodes[node] ?? 0) + 1;
  }
  return [...byName.values()];
}

/** The status table: running/desired per service, running tasks per node. */
function formatSwarmStatus(services: readonly SwarmServiceStatus[], urls: Record<string, string>): string {
  const rows = [["SERVICE", "SWARM SERVICE", "REPLICAS", "NODES", "URL"]];
  for (const s of [...services].sort((a, b) => a.service.localeCompare(b.service))) {
    const nodes = Object.keys(s.nodes)
      .sort()
      .map((n) => `${n}:${s.nodes[n]}`)
      .join(" ");
    rows.push([s.service, s.name, `${s.running}/${s.desired}`, nodes || "-", urls[s.service] ?? "-"]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n")}\n`;
}

/** Services below their replica count (or not found: 0/0). */
export function degraded(services: readonly SwarmServiceStatus[]): string[] {
  return services.filter((s) => s.desired === 0 || s.running < s.desired).map((s) => s.service);
}

/** `ems-infra:swarm`, read with the program's schema. */
async function swarmConfigOf(stack: Pick<StackLike, "getConfig">) {
  const raw = await configValue(stack, "ems-infra:swarm");
  if (raw === undefined) throw new Error("ems-infra:swarm is not set (the stack's platform is swarm)");
  const parsed = swarmSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`ems-infra:swarm: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** The cluster's nodes from `ems-infra:swarm`, as SSH targets (the program's schema and path rules). */
export async function swarmNodesOf(
  stack: Pick<StackLike, "getConfig">,
  home = os.homedir(),
  cwd = REPO_ROOT,
): Promise<{ connection: HostConnection; role: string; labels: Record<string, string> }[]> {
  const swarm = await swarmConfigOf(stack);
  const resolve = (p: string) => resolveHostPath(p, home, cwd);
  return swarm.nodes.map((n) => ({
    role: n.role,
    labels: n.labels,
    connection: {
      host: n.address,
      user: n.user,
      port: n.port,
      knownHostsFile: resolve(swarm.knownHostsFile),
      ...(swarm.identityFile ? { identityFile: resolve(swarm.identityFile) } : {}),
    },
  }));
}

/** The Swarm service of a service key (`ems`, `postgres`…), or an error naming the ones the stack has. */
export function serviceName(named: Record<string, string>, service: string, stackName: string): string {
  const name = named[service];
  if (!name)
    throw new Error(
      `stack ${stackName} has no service "${service}" (services: ${Object.keys(named).sort().join(", ")})`,
    );
  return name;
}

/** The first manager: where status, logs and the task lookups run. */
export async function managerOf(stack: Pick<StackLike, "getConfig">): Promise<HostTarget> {
  const manager = (await swarmNodesOf(stack)).find((n) => n.role === "manager");
  if (!manager) throw new Error("ems-infra:swarm lists no manager");
  return manager.connection;
}

/** The node holding Postgres's pin (`swarm.pins.postgres`): where the backup job, backup and restore run. */
export async function databaseNodeOf(stack: Pick<StackLike, "getConfig">): Promise<HostTarget> {
  const pin = (await swarmConfigOf(stack)).pins.postgres;
  const [key, value] = [pin.slice(0, pin.indexOf("=")), pin.slice(pin.indexOf("=") + 1)];
  const matching = (await swarmNodesOf(stack)).filter((n) => n.labels[key] === value);
  if (matching.length !== 1)
    throw new Error(`ems-infra:swarm: ${matching.length} nodes have the Postgres pin's label ${pin} (exactly 1 must)`);
  return matching[0].connection;
}

/** Where `npm run backup` and `restore` run: the database node on a swarm, the stack's host on one engine. */
export async function backupHostOf(
  stack: Pick<StackLike, "getConfig">,
  outputs: { platform?: string },
): Promise<HostTarget> {
  return outputs.platform === "swarm" ? databaseNodeOf(stack) : hostTargetOf(stack);
}

/** The node (from config) running a task of the service, found through the manager. */
export async function taskNode(
  host: HostShell,
  stack: Pick<StackLike, "getConfig">,
  name: string,
): Promise<HostTarget> {
  const nodes = await swarmNodesOf(stack);
  const manager = nodes.find((n) => n.role === "manager")!.connection;
  const addr = (await host.capture(manager, taskNodeCommand(name))).stdout.trim();
  if (!addr) throw new Error(`service ${name} has no running task`);
  const node = nodes.find((n) => n.connection.host === addr);
  if (!node) throw new Error(`service ${name} runs on ${addr}, which is not in ems-infra:swarm.nodes`);
  return node.connection;
}

/** `npm run status` on a swarm: replicas running/desired per service and per node; 1 when one is short. */
export async function swarmStatus(
  stack: StackLike,
  named: Record<string, string>,
  urls: Record<string, string>,
  io: { out(text: string): void; err(text: string): void },
  host: HostShell,
): Promise<number> {
  const manager = await managerOf(stack);
  const result = await host.capture(manager, swarmStatusCommand(Object.values(named)));
  if (result.code !== 0) throw new Error(`could not list the services: ${result.stderr.trim() || result.code}`);
  const services = parseSwarmStatus(result.stdout, named);
  io.out(`\n${formatSwarmStatus(services, urls)}`);
  const short = degraded(services);
  if (short.length) {
    io.err(
      `below their replica count: ${short.join(", ")} (npm run logs -- --stack ${stack.name} --service <service>)\n`,
    );
    return 1;
  }
  io.out("every service at its replica count\n");
  return 0;
}

/**
 * The switch's gate after `pulumi up` on swarm: every service at its replica count (Swarm counts a task once its
 * health check passes), then each API through the new Traefik on this host (the Traefik pin's node: the route, TLS
 * and the app) with the cut-over's health gate (ops/healthGate.ts): a 200, or the rate-limit 403 while its role holds
 * a session in the Postgres task (on this host too: the Postgres pin's node).
 */
import { GateTarget, healthGate } from "../healthGate";
import { PLATFORM_SWITCH_COMMANDS as S } from "../hostCommands/platformSwitch";
import type { BoundShell } from "../runner/hostShell";

export interface SwarmGateDeps {
  /** The stack's host: the new Traefik listens on it and the Postgres task runs on it. */
  shell: BoundShell;
  /** A manager of the swarm (the replica counts). */
  manager(): Promise<BoundShell>;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface SwarmGateInput {
  /** Every Swarm service of the stack. */
  services: string[];
  apis: GateTarget[];
  /** The Postgres service and its superuser (the sessions are read in its task). */
  postgresService: string;
  superuser: string;
  timeoutMs: number;
  intervalMs: number;
}

/** `running desired` → whether the service is at its replica count. */
export function atReplicas(line: string): boolean {
  const [running, desired] = line.trim().split(/\s+/).map(Number);
  return Number.isInteger(desired) && desired > 0 && running >= desired;
}

export async function swarmGate(deps: SwarmGateDeps, input: SwarmGateInput): Promise<{ ok: boolean; message: string }> {
  const deadline = deps.now() + input.timeoutMs;
  const m = await deps.manager();
  let seen: string[];
  for (;;) {
    seen = [];
    for (const name of input.services) seen.push(`${name} ${(await m.run(S.replicas(name))).stdout.trim() || "0 0"}`);
    const short = seen.filter((s) => !atReplicas(s.slice(s.indexOf(" ") + 1)));
    if (short.length === 0) break;
    if (deps.now() + input.intervalMs > deadline)
      return { ok: false, message: `below their replica count: ${short.join(", ")}` };
    await deps.sleep(input.intervalMs);
  }
  const answers: string[] = [];
  for (const api of input.apis) {
    const gate = {
      address: "127.0.0.1",
      port: 443,
      insecure: false,
      timeoutMs: Math.max(0, deadline - deps.now()),
      intervalMs: input.intervalMs,
    };
    const postgres = { swarmService: input.postgresService, superuser: input.superuser };
    const answer = await healthGate(deps, gate, api, postgres);
    const url = `https://${api.host}${api.healthPath}`;
    if (!answer.ok)
      return { ok: false, message: `${api.service} did not answer its health gate at ${url}: ${answer.last}` };
    answers.push(`${api.service}: ${url} ${answer.how}`);
  }
  return { ok: true, message: `every service at its replica count (${seen.join(", ")}); ${answers.join("; ")}` };
}

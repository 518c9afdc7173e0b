/**
 * The one health gate of the operations that bring a new system up in place of a live one (`npm run migrate`'s
 * cut-over, `npm run switch-platform`): each API through the new Traefik answers 200, or answers the rate-limit 403
 * while its role holds a session in the new PostgreSQL. The real servers share one 20/min bucket with every client
 * and check it before the key (reference §6): live clients can keep the probe at 403 although the API serves; the
 * session proves it started (it logs in at start-up and dies when refused) and talks to the new server.
 */
import { swarmTaskContainer } from "../components/swarmPostgres";
import { CUTOVER_COMMANDS as C } from "./hostCommands/cutover";
import { sessionsOf } from "./migrate/database";
import type { BoundShell } from "./runner/hostShell";

/** One API the health gate asks through the new Traefik. */
export interface GateTarget {
  service: string;
  /** Its public host name, e.g. api.ems.edumigsoft.com.br. */
  host: string;
  /** e.g. /api/v1/health */
  healthPath: string;
  /** Sent as x-api-key on stdin; never printed. */
  apiKey: string;
  /** The role and database it logs into: a 403 (rate-limited) counts as up when that session exists. */
  role?: string;
  database?: string;
}

export interface GateOptions {
  /** Where the new Traefik listens on the host (127.0.0.1). */
  address: string;
  /** Its HTTPS port (443). */
  port: number;
  /** Skip certificate verification (only for a self-signed proxy in tests). */
  insecure: boolean;
  /** How long each API may take to answer. */
  timeoutMs: number;
  /** Pause between probes (the servers allow 20 requests a minute in total). */
  intervalMs: number;
}

/** The new PostgreSQL, on the gate's host: a container (one engine) or the running task of a Swarm service. */
export type NewPostgres = { container: string; superuser: string } | { swarmService: string; superuser: string };

export interface HealthGateDeps {
  /** The host the new Traefik listens on (and the new PostgreSQL runs on). */
  shell: BoundShell;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type GateAnswer = { ok: true; at: number; how: string } | { ok: false; last: string };

/** The client sessions of the new PostgreSQL, `role database` a line. */
export function sessionsCommand(postgres: NewPostgres): string {
  if ("container" in postgres) return C.sessions(postgres.container, postgres.superuser);
  // The task's container name carries a task id: found by its service label, as drift and exec find it.
  return C.sessionsIn(swarmTaskContainer(postgres.swarmService), postgres.superuser);
}

/**
 * Probes one API until it answers 200, or 403 (the one rate-limit bucket is full) while its role is logged into
 * the new PostgreSQL (the server only listens after that login), or the time is up.
 */
export async function healthGate(
  deps: HealthGateDeps,
  gate: GateOptions,
  api: GateTarget,
  postgres: NewPostgres | undefined,
): Promise<GateAnswer> {
  const deadline = deps.now() + gate.timeoutMs;
  const command = C.health({
    host: api.host,
    address: gate.address,
    port: gate.port,
    path: api.healthPath,
    insecure: gate.insecure,
  });
  let last = "no answer";
  for (;;) {
    const r = await deps.shell.run(command, { input: `x-api-key: ${api.apiKey}\n`, timeoutMs: 15_000 });
    const code = r.stdout.trim();
    if (r.code === 0 && code === "200") return { ok: true, at: deps.now(), how: "answers 200" };
    if (r.code === 0 && code === "403" && postgres && api.role && api.database) {
      const sessions = sessionsOf((await deps.shell.run(sessionsCommand(postgres))).stdout);
      if (sessions.has(`${api.role} ${api.database}`))
        return {
          ok: true,
          at: deps.now(),
          how: `answers 403 (its one 20/min bucket is full) and is logged into PostgreSQL as ${api.role} on ${api.database}`,
        };
      last = `HTTP 403 (rate-limited) and no session of ${api.role} on ${api.database} in the new PostgreSQL`;
    } else {
      last = r.code === 0 ? `HTTP ${code}` : r.stderr.trim().split("\n").pop() || `curl exit ${r.code}`;
    }
    if (deps.now() + gate.intervalMs > deadline) return { ok: false, last };
    await deps.sleep(gate.intervalMs);
  }
}

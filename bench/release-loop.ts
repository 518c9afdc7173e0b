/**
 * `npm run bench:release` (tsx bench/release-loop.ts [--no-retry] [--grace N] [--if-docker]; `npm run bench` runs it
 * after the blast radius with --if-docker, which skips it when no engine answers): the end of an API release,
 * measured on the real dockerd. A client loop sends GET /api/v1/health (with the x-api-key) through a small
 * Traefik-like load balancer while the provider's create-before-delete replacement runs exactly as the Docker
 * provider does it: create the new container (Engine API, like resourceDockerContainerCreate) → wait until it is
 * healthy (polled every 1 s, like `wait`) → stop the old one with `destroyGraceSeconds` (ContainerStop) → remove
 * it. Every request is counted: 200, 403 (answered by a server, but over the stand-in's real 20 req/min limit:
 * the servers have no unlimited path) and failed (connection error, 502/503, timeout). Bounded: ~45 s of loop,
 * at most ~3000 requests, loopback and one docker network only.
 *
 * The APIs are the stand-ins that log into PostgreSQL at start and exit 1 when refused (ems-test/ems-server-pg,
 * real-system.md §6), against ems-test/postgres:15 on the bench's network under the program's DB_HOST; after the
 * release exactly one session of the role must remain, the new container's.
 *
 * Modelled, not Traefik itself (no Traefik image offline): round-robin over the healthy backends; a backend joins
 * on its `health_status: healthy` event and leaves on `die` or `health_status: unhealthy` (Traefik's docker
 * provider), config changes applied at most every 2 s (providersThrottleDuration); a retry middleware like
 * Traefik's `retry` (the program's RETRY_ATTEMPTS, on a connection error before any response byte, next backend,
 * 100 ms backoff).
 */
import { execFileSync } from "child_process";
import * as http from "http";
import { HARDENING, LOG_ROTATION, memoryLimit } from "../components/containerDefaults";
import {
  EMS_RUN_PATH,
  SECRETS_ENV_PATH,
  emsRunBase64,
  probeHealthcheckTests,
  secretsEnvFile,
} from "../components/probe";
import { RETRY_ATTEMPTS } from "../components/traefikConfig";
import type { ContainerInputs } from "../testkit/engineSpec";
import { createLikeProvider, engine, InspectedContainer } from "../testkit/readbackEngine";

const SOCKET = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");
const PORT = 8181;
const API_KEY = "bench-api-key-0001";
const SERVICE_LABEL = "com.ems.service";
/** The images build.sh makes (test/support/images): the logging-in stand-ins and the PostgreSQL 15 one. */
const OLD_IMAGE = "ems-test/ems-server-pg:1.2.1";
const NEW_IMAGE = "ems-test/ems-server-pg:1.2.2";
const POSTGRES_IMAGE = "ems-test/postgres:15";
/** The program's DB_HOST for the EMS API (the Postgres container's name), its role, database and the bench's password. */
const DB = { host: "ems_system-postgres", user: "ems_user", name: "ems", password: "bench-db-pass" };

const args = process.argv.slice(2);
const RETRY = !args.includes("--no-retry");
const GRACE = args.includes("--grace") ? Number(args[args.indexOf("--grace") + 1]) : 30;
const WORKERS = 2;
const PAUSE_MS = 25;
const MAX_REQUESTS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const now = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
const timeline: string[] = [];
const mark = (what: string) => timeline.push(`${now()} s  ${what}`);

/** Fails unless every image exists locally. */
async function requireImages(images: string[]): Promise<void> {
  for (const image of images)
    if ((await engine(SOCKET, "GET", `/images/${encodeURIComponent(image)}/json`)).status !== 200)
      throw new Error(`${image} does not exist: run test/support/images/build.sh`);
}

/** SQL as the superuser inside the bench's Postgres container; unaligned, tuples only. */
function psql(container: string, sql: string): string {
  return execFileSync(
    "docker",
    ["exec", "-i", container, "psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres"],
    {
      input: sql,
      encoding: "utf8",
    },
  ).trim();
}

/**
 * Starts PostgreSQL on the network under the program's DB_HOST and gives it the API's role and database. Waits for
 * TCP, which only the final server answers (initdb's temporary one listens on the socket only).
 */
async function startPostgres(name: string, network: string): Promise<void> {
  const created = await engine(SOCKET, "POST", `/containers/create?name=${name}`, {
    Image: POSTGRES_IMAGE,
    Env: ["POSTGRES_PASSWORD=bench-superuser"],
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [DB.host] } } },
  });
  if (created.status !== 201) throw new Error(`postgres: ${JSON.stringify(created.body)}`);
  await engine(SOCKET, "POST", `/containers/${name}/start`);
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      execFileSync("docker", ["exec", name, "pg_isready", "-q", "-h", "127.0.0.1"], { stdio: "ignore" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not accept connections within 90 s`);
      await sleep(300);
    }
  }
  psql(name, `CREATE ROLE ${DB.user} LOGIN PASSWORD '${DB.password}'; CREATE DATABASE ${DB.name} OWNER ${DB.user};`);
}

/** The addresses holding a session of the API's role (pg_stat_activity). */
function sessions(postgres: string): string[] {
  return psql(
    postgres,
    `SELECT host(client_addr) FROM pg_stat_activity WHERE usename = '${DB.user}' AND datname = '${DB.name}' ORDER BY 1`,
  )
    .split("\n")
    .filter(Boolean);
}

/** A container's address on the network. */
async function addressOf(id: string, network: string): Promise<string> {
  const info = (await engine<InspectedContainer>(SOCKET, "GET", `/containers/${id}/json`)).body;
  return info.NetworkSettings?.Networks?.[network]?.IPAddress ?? "";
}

/** The API container as the program specifies it (components/apiService spec), for one version of the stand-in. */
function apiSpec(version: string, network: string, svc: string): Omit<ContainerInputs, "image"> {
  const secrets = secretsEnvFile({
    JWT_KEY: "bench-jwt-key",
    API_KEY,
    DB_PASS: DB.password,
    EMAIL_SERVICE_API_KEY: "bench-mail",
  });
  return {
    entrypoints: [EMS_RUN_PATH],
    command: ["/app/bin/server"],
    uploads: [
      { file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true },
      { file: SECRETS_ENV_PATH, content: secrets },
    ],
    envs: [
      `DB_HOST=${DB.host}`,
      "DB_PORT=5432",
      `DB_USER=${DB.user}`,
      `DB_NAME=${DB.name}`,
      "VERIFICATION_LINK_BASE_URL=https://api.ems.local/api/v1/auth/verify",
      "ENV=development",
      "ENVIRONMENT=development",
      `APP_VERSION=${version}`,
      "UPLOAD_PATH=/app/uploads",
      "HOME=/app",
    ],
    // Bench timings: the first probe comes one interval after start on Docker < 25 (no startInterval); retries
    // are raised so the loop, which exhausts the shared 20 req/min bucket, does not flip a healthy server.
    healthcheck: {
      tests: probeHealthcheckTests(PORT, "/api/v1/health"),
      interval: "3s",
      timeout: "5s",
      retries: 100,
      startPeriod: "20s",
    },
    labels: [{ label: SERVICE_LABEL, value: svc }],
    networksAdvanced: [{ name: network }],
    ...memoryLimit(256),
    ...LOG_ROTATION,
    ...HARDENING,
  };
}

/** One line of the engine's `/events` stream (old and new field names: status/id, Action/Actor.ID). */
interface DockerEvent {
  id?: string;
  status?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Traefik-like: backends from docker events, throttled config, round-robin, optional retry. */
class Balancer {
  private live: { id: string; url: string }[] = [];
  private desired = new Map<string, string>();
  private lastApply = 0;
  private pending?: NodeJS.Timeout;
  private next = 0;
  retries = 0;
  noBackend = 0;
  private events?: http.ClientRequest;
  server?: http.Server;

  constructor(
    private readonly svc: string,
    private readonly network: string,
  ) {}

  async start(): Promise<number> {
    const filters = encodeURIComponent(
      JSON.stringify({ type: ["container"], label: [`${SERVICE_LABEL}=${this.svc}`] }),
    );
    this.events = http.request({ socketPath: SOCKET, path: `/events?filters=${filters}`, method: "GET" }, (res) => {
      let buf = "";
      res.on("data", (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) void this.onEvent(JSON.parse(line));
        }
      });
    });
    this.events.on("error", () => undefined);
    this.events.end();
    this.server = http.createServer((req, res) => void this.proxy(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    return (this.server.address() as { port: number }).port;
  }

  private async onEvent(e: DockerEvent): Promise<void> {
    const id = e.id ?? e.Actor?.ID ?? "";
    const status = e.status ?? e.Action ?? "";
    if (status.startsWith("exec_")) return; // the health probes
    mark(`docker event ${status} ${e.Actor?.Attributes?.name ?? id.slice(0, 12)}`);
    if (status === "health_status: healthy") {
      const info = (await engine<InspectedContainer>(SOCKET, "GET", `/containers/${id}/json`)).body;
      const ip = info.NetworkSettings?.Networks?.[this.network]?.IPAddress;
      if (ip) this.desired.set(id, `http://${ip}:${PORT}`);
    } else if (status === "die" || status === "health_status: unhealthy" || status === "destroy") {
      this.desired.delete(id);
    } else return;
    this.schedule();
  }

  private schedule(): void {
    const wait = Math.max(0, this.lastApply + 2000 - Date.now());
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.lastApply = Date.now();
      this.live = [...this.desired].map(([id, url]) => ({ id, url }));
      mark(`balancer: ${this.live.length} backend(s) ${this.live.map((b) => b.id.slice(0, 12)).join(" ")}`);
    }, wait);
  }

  private async proxy(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const attempts = RETRY ? RETRY_ATTEMPTS : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.live.length === 0) {
        this.noBackend++;
        res.writeHead(503).end("no backend");
        return;
      }
      const backend = this.live[this.next++ % this.live.length];
      const outcome = await forward(backend.url, req, res);
      if (outcome === "done") return;
      if (attempt < attempts) {
        this.retries++;
        await sleep(100 * attempt);
      }
    }
    if (!res.headersSent) res.writeHead(502).end("bad gateway");
  }

  stop(): void {
    this.events?.destroy();
    this.server?.close();
  }
}

/** Forwards one request; "retry" when the backend failed before sending any response byte. */
function forward(url: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<"done" | "retry"> {
  return new Promise((resolve) => {
    const out = http.request(
      `${url}${req.url}`,
      {
        method: req.method,
        headers: { "x-api-key": String(req.headers["x-api-key"] ?? "") },
        timeout: 5000,
        agent: false,
      },
      (backendRes) => {
        res.writeHead(backendRes.statusCode ?? 502, backendRes.headers);
        backendRes.pipe(res);
        backendRes.on("end", () => resolve("done"));
        backendRes.on("error", () => {
          res.destroy();
          resolve("done");
        });
      },
    );
    out.on("timeout", () => out.destroy(new Error("timeout")));
    out.on("error", () => resolve(res.headersSent ? "done" : "retry"));
    out.end();
  });
}

interface Counts {
  ok: number;
  limited: number;
  failed: number;
  failures: string[];
}

async function clientLoop(port: number, stop: () => boolean, counts: Counts): Promise<void> {
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.get(
        {
          host: "127.0.0.1",
          port,
          path: "/api/v1/health",
          headers: { "x-api-key": API_KEY },
          timeout: 8000,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) counts.ok++;
            else if (res.statusCode === 403) counts.limited++;
            else {
              counts.failed++;
              counts.failures.push(`${now()} s HTTP ${res.statusCode}`);
            }
            resolve();
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (err) => {
        counts.failed++;
        counts.failures.push(`${now()} s ${err.message}`);
        resolve();
      });
    });
  while (!stop() && counts.ok + counts.limited + counts.failed < MAX_REQUESTS) {
    await one();
    await sleep(PAUSE_MS);
  }
}

/** Polls like the provider's `wait`: every 1 s until healthy, failing after `timeoutS`. */
async function waitHealthy(id: string, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const state = (await engine<InspectedContainer>(SOCKET, "GET", `/containers/${id}/json`)).body.State;
    if (state.Health?.Status === "healthy") return;
    if (Date.now() > deadline)
      throw new Error(
        `container ${id.slice(0, 12)} not healthy within ${timeoutS} s: ${JSON.stringify(state.Health?.Log?.slice(-1))}`,
      );
    await sleep(1000);
  }
}

async function main(): Promise<void> {
  if (args.includes("--if-docker")) {
    const ping = await engine(SOCKET, "GET", "/_ping", undefined, undefined, 5000).catch((err: Error) => ({
      status: 0,
      body: err.message,
    }));
    if (ping.status !== 200) {
      console.log(
        `Release loop skipped: no Docker engine at ${SOCKET} (${ping.body}). Run npm run bench:release where dockerd runs.`,
      );
      return;
    }
  }
  const svc = `ems-bench-${process.pid}`;
  const network = `ems-release-${process.pid}`;
  await requireImages([OLD_IMAGE, NEW_IMAGE, POSTGRES_IMAGE]);
  const [oldImage, newImage] = [OLD_IMAGE, NEW_IMAGE];
  const postgres = `${svc}-postgres`;
  const created: string[] = [];
  let newAddress = "";
  let remaining: string[] = [];
  const net = await engine(SOCKET, "POST", "/networks/create", {
    Name: network,
    Driver: "bridge",
    CheckDuplicate: true,
  });
  if (net.status !== 201) throw new Error(`network: ${JSON.stringify(net.body)}`);
  const balancer = new Balancer(svc, network);
  const counts: Counts = { ok: 0, limited: 0, failed: 0, failures: [] };
  try {
    created.push(postgres);
    await startPostgres(postgres, network);
    mark(`postgres ready: role ${DB.user} owns ${DB.name}`);
    const lbPort = await balancer.start();
    const create = async (image: string, version: string, suffix: string) => {
      const name = `${svc}-${suffix}`;
      const c = await createLikeProvider(apiSpec(version, network, svc), {
        socket: SOCKET,
        name,
        image,
        network: (n) => n,
        volume: (n) => n,
        bind: (s) => s,
      });
      created.push(name);
      if (c.startError) throw new Error(`${name}: ${c.startError}`);
      return c.id;
    };
    mark(`old container: create ${oldImage}`);
    const oldId = await create(oldImage, "1.2.1", "old");
    await waitHealthy(oldId, 60);
    mark(`old container logged in: sessions of ${DB.user} from ${sessions(postgres).join(", ")}`);
    await sleep(2500); // the balancer's throttle
    mark("client loop starts");
    let done = false;
    const loops = Array.from({ length: WORKERS }, () => clientLoop(lbPort, () => done, counts));

    await sleep(2000);
    mark(`new container: create ${newImage} (create-before-delete)`);
    const newId = await create(newImage, "1.2.2", "new");
    await waitHealthy(newId, 60);
    newAddress = await addressOf(newId, network);
    mark(
      `new container healthy: the provider's wait returns (sessions of ${DB.user} from ${sessions(postgres).join(", ")})`,
    );
    // The engine deletes the replaced container only after every other step (performPostSteps).
    mark(`old container: ContainerStop with timeout ${GRACE} s (destroyGraceSeconds)`);
    await engine(SOCKET, "POST", `/containers/${oldId}/stop?t=${GRACE}`, undefined, undefined, (GRACE + 30) * 1000);
    mark("old container stopped");
    await engine(SOCKET, "DELETE", `/containers/${oldId}?force=true&v=true`);
    mark("old container removed");
    remaining = sessions(postgres);
    await sleep(3000);
    done = true;
    await Promise.all(loops);
    mark("client loop ends");
  } finally {
    balancer.stop();
    for (const name of created) await engine(SOCKET, "DELETE", `/containers/${name}?force=true&v=true`);
    await engine(SOCKET, "DELETE", `/networks/${network}`);
  }

  const total = counts.ok + counts.limited + counts.failed;
  console.log(
    "Release loop: one API replaced (create new → wait healthy → stop old with its grace → remove) under load\n",
  );
  for (const line of timeline) console.log(`  ${line}`);
  console.log(`
  requests           ${total} (${WORKERS} clients, one request at a time each, ${PAUSE_MS} ms apart)
  200                ${counts.ok}
  403 (rate limit)   ${counts.limited}   answered by a server: the stand-in's real 20 req/min bucket; not a loss
  failed             ${counts.failed}   connection error, 502/503 or timeout: lost by the release
  retried            ${balancer.retries}   requests the retry middleware re-sent to the other backend
  no backend (503)   ${balancer.noBackend}
  ${DB.user} sessions  ${remaining.join(", ") || "none"} after the release (want exactly the new container's, ${newAddress})
${counts.failures.length ? `  failures at: ${counts.failures.slice(0, 10).join("; ")}${counts.failures.length > 10 ? " ..." : ""}\n` : ""}
Modelled here (not a real Traefik): round-robin over healthy backends from docker events (join on healthy, leave
on die/unhealthy, 2 s throttle), ${RETRY ? `a retry middleware (${RETRY_ATTEMPTS} attempts, the program's api-retry, on connection errors before any response byte)` : "NO retry middleware (--no-retry)"}.
Real: dockerd ${SOCKET}, the provider's create/wait/stop(${GRACE} s)/remove sequence, the stand-in server
(${oldImage} → ${newImage}) launched by ems-run with the exec-form ems-run probe, logged into PostgreSQL 15
(${POSTGRES_IMAGE}) at start as the real servers are; the stand-in ignores SIGTERM
like the Dart server, so the old one is killed when the grace ends. Health timings are the bench's (3 s, 100
retries), not the program's. Not measured: requests in flight for longer than the kill, non-idempotent requests
(Traefik's retry re-sends only when nothing was received, a POST included), TLS, HTTP keep-alive to backends.`);
  if (counts.failed > 0) process.exitCode = 1;
  if (remaining.length !== 1 || remaining[0] !== newAddress) {
    console.error(`FAILED: after the release ${DB.user} should hold one session, the new container's (${newAddress})`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(2);
});

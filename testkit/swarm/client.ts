/**
 * The client loop of the swarm test and bench, standing in for Traefik with `lbswarm` off (no Traefik image
 * offline): it reads the service's running tasks from the engine (as Traefik's Swarm provider does, every
 * `--refresh-ms`), sends one request every `--interval-ms` to the next task round-robin, and on a connection
 * error tries the next task, up to 3 attempts (the `api-retry` middleware). Run inside the engine's network
 * namespace: the tasks' ports are published in host mode on its loopback.
 *
 *   client.ts --socket S --service NAME --port P --key K --stop-file F [--interval-ms 1500] [--refresh-ms 5000]
 *
 * Stops when the stop file exists (or after 10 minutes) and prints one JSON line: requests, ok (200),
 * limited (the servers' shared 20/min bucket answered 403/429: the server answered), failed (no answer from any
 * attempt, or another status), and the versions that answered.
 */
import * as fs from "fs";
import * as http from "http";

const arg = (name: string, fallback?: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
};
const socket = arg("socket");
const service = arg("service");
const port = Number(arg("port"));
const key = arg("key");
const stopFile = arg("stop-file");
const intervalMs = Number(arg("interval-ms", "1500"));
const refreshMs = Number(arg("refresh-ms", "5000"));
const ATTEMPTS = 3;

interface Task {
  Status: { State: string; PortStatus?: { Ports?: { TargetPort: number; PublishedPort: number }[] } };
}

function engineTasks(): Promise<Task[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [service] }));
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: `/tasks?filters=${filters}`, timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(body) as Task[]) : reject(new Error(body))));
      })
      .on("error", reject);
  });
}

function request(hostPort: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: "127.0.0.1",
        port: hostPort,
        path: "/api/v1/health",
        headers: { "x-api-key": key },
        timeout: 3000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

async function main(): Promise<void> {
  let backends: number[] = [];
  let refreshedAt = 0;
  let next = 0;
  const counts = { requests: 0, ok: 0, limited: 0, failed: 0, retried: 0 };
  const versions: Record<string, number> = {};
  const failures: string[] = [];
  const deadline = Date.now() + 10 * 60_000;
  while (!fs.existsSync(stopFile) && Date.now() < deadline) {
    if (Date.now() - refreshedAt >= refreshMs) {
      const tasks = await engineTasks().catch(() => undefined);
      if (tasks) {
        backends = tasks
          .filter((t) => t.Status.State === "running")
          .flatMap((t) => (t.Status.PortStatus?.Ports ?? []).filter((p) => p.TargetPort === port))
          .map((p) => p.PublishedPort);
        backends = [...new Set(backends)];
        refreshedAt = Date.now();
      }
    }
    counts.requests++;
    let answered: { status: number; body: string } | undefined;
    let lastError = "no running task";
    for (let attempt = 0; attempt < ATTEMPTS && backends.length > 0 && !answered; attempt++) {
      const backend = backends[next++ % backends.length];
      if (attempt > 0) counts.retried++;
      answered = await request(backend).catch((e: Error) => {
        lastError = `${backend}: ${e.message}`;
        return undefined;
      });
    }
    if (answered?.status === 200) {
      counts.ok++;
      const v = /version: ([^,}]+)/.exec(answered.body)?.[1] ?? "?";
      versions[v] = (versions[v] ?? 0) + 1;
    } else if (answered && (answered.status === 403 || answered.status === 429)) counts.limited++;
    else {
      counts.failed++;
      failures.push(answered ? `status ${answered.status}` : lastError);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  process.stdout.write(`${JSON.stringify({ ...counts, versions, failures: failures.slice(0, 10) })}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`swarm-client: ${e.message}\n`);
  process.exit(1);
});

/**
 * A real Docker engine for the tests in test/docker.
 *
 * - `ensureDocker()` answers whether `docker info` works, starting `dockerd` in the background first when it
 *   does not (root only; the same commands as .ci/run, see DOCKERD_START_SCRIPT). In CI (`CI=true`) a missing
 *   engine throws, so the docker tests fail instead of being skipped; elsewhere they are skipped with a message
 *   (`describeWithDocker`).
 * - `buildTestImages()` builds the local images (test/support/images/build.sh): there is no registry.
 * - `dockerRunArgs()` translates a docker.Container's resolved inputs, as the program registered them under
 *   the Pulumi mocks, into `docker create`/`docker run` arguments, replacing only the image. Inputs it cannot
 *   translate make it throw, so a new setting in the program never goes silently untested.
 * - `engineCreateBody()` / `createThroughEngine()` do the same through the Engine API over the unix socket
 *   (create, networks, uploads, start: the provider's order), which also expresses exec-form
 *   healthchecks, entrypoint arrays and uploads; `DockerScratch.create` is its per-run wrapper.
 * - `DockerScratch` names (unique per run), creates and removes the networks, volumes, containers and host
 *   folders one test file uses.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import type { NetworkArgs, types as dockerTypes } from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import {
  ContainerInputs,
  HealthcheckInput,
  MountInput,
  plain,
  PortInput,
  TarFile,
  tarArchive,
} from "../../testkit/engineSpec";
import { describeIfAvailable } from "./skip";

export { plain } from "../../testkit/engineSpec";
export type { ContainerInputs, PortInput } from "../../testkit/engineSpec";

/** Where a dockerd started by the tests logs. */
const DOCKERD_LOG = process.env.DOCKERD_LOG ?? "/tmp/ems-dockerd.log";

/**
 * Starts dockerd unless `docker info` already answers, and waits up to 60 s for it (the same commands as
 * .ci/run). dockerd's defaults work in the CI sandbox (overlay2, iptables, its own containerd); `setsid`
 * detaches it from the test process's session, its output goes to $DOCKERD_LOG only, and a daemon that
 * dies while starting is reported at once with the end of its log.
 */
const DOCKERD_START_SCRIPT = `
log=\${DOCKERD_LOG:-/tmp/ems-dockerd.log}
docker info >/dev/null 2>&1 && exit 0
command -v dockerd >/dev/null 2>&1 || { echo "dockerd not found (apt-get install docker.io)"; exit 1; }
setsid dockerd --log-level=warn </dev/null >>"$log" 2>&1 &
pid=$!
i=0
while [ "$i" -lt 60 ]; do
  docker info >/dev/null 2>&1 && exit 0
  kill -0 "$pid" 2>/dev/null || { echo "dockerd exited; last lines of $log:"; tail -n 30 "$log"; exit 1; }
  sleep 1
  i=$((i + 1))
done
echo "dockerd did not answer within 60 s; last lines of $log:"
tail -n 30 "$log"
exit 1
`;

/**
 * The local images build.sh makes. The API ones are FROM scratch stand-ins for the real servers
 * (standin-server.c: the real env checks, compiled-in port, x-api-key, one 20 req/min bucket, uploads, log file).
 */
export const IMAGES = {
  /** Stand-in for ghcr.io/edumigsoft/ems-server:1.2.1, listening on 8181. */
  ems: "ems-test/ems-server:1.2.1",
  /** The next good EMS version (a version bump). */
  emsNext: "ems-test/ems-server:1.2.2",
  /** An EMS version that prints a migration error and exits 3 at start. */
  emsExits: "ems-test/ems-server:9.0.0-exits",
  /** An EMS version whose /api/v1/health answers 500. */
  emsHealth500: "ems-test/ems-server:9.0.1-500",
  /** Stand-in for ghcr.io/edumigsoft/sms-server:1.1.0, listening on 8080. */
  sms: "ems-test/sms-server:1.1.0",
  /** The next good SMS version. */
  smsNext: "ems-test/sms-server:1.1.1",
  /** An SMS version that exits 3 at start. */
  smsExits: "ems-test/sms-server:9.0.0-exits",
  /** An SMS version whose health answers 500. */
  smsHealth500: "ems-test/sms-server:9.0.1-500",
  /** The EMS stand-in that logs into PostgreSQL at start with DB_* and exits 1 when refused (real-system.md §6). */
  emsPg: "ems-test/ems-server-pg:1.2.1",
  /** The next good EMS version, logging in the same way. */
  emsNextPg: "ems-test/ems-server-pg:1.2.2",
  /** The same for SMS. */
  smsPg: "ems-test/sms-server-pg:1.1.0",
  /** The next good SMS version, logging in the same way. */
  smsNextPg: "ems-test/sms-server-pg:1.1.1",
  /** PostgreSQL 15 behaving like the official image for POSTGRES_USER/POSTGRES_PASSWORD/PGDATA. */
  postgres: "ems-test/postgres:15",
} as const;

const BUILD_SCRIPT = path.join(__dirname, "images", "build.sh");

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero status (`check` does). */
export function run(
  cmd: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): CommandResult {
  const r = spawnSync(cmd, args, {
    input: options.input ?? "",
    env: options.env ?? process.env,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The result of a command that must succeed; throws with its output otherwise. */
export function check(result: CommandResult, what: string): CommandResult {
  if (result.status !== 0)
    throw new Error(`${what} exited with ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** `docker ARGS`, which must succeed; returns its stdout without the trailing newline. */
export function docker(args: string[], options: { input?: string; timeoutMs?: number } = {}): string {
  return check(run("docker", args, options), `docker ${args.join(" ")}`).stdout.replace(/\n$/, "");
}

function dockerAnswers(): boolean {
  try {
    return (
      run("docker", ["info", "--format", "{{.ServerVersion}}"], {
        timeoutMs: 20_000,
      }).status === 0
    );
  } catch {
    return false;
  }
}

let availability: { ok: boolean; reason: string } | undefined;

/** Why the engine is not available (empty when it is). Valid after `ensureDocker()`. */
function dockerUnavailableReason(): string {
  return availability?.reason ?? "";
}

/**
 * Whether a Docker engine answers, starting dockerd when it does not. Cached per process (jest worker).
 * With CI=true an engine that cannot be reached throws: the docker tests must fail there, never skip.
 */
export function ensureDocker(): boolean {
  if (!availability) availability = probeOrStart();
  if (!availability.ok && process.env.CI === "true") {
    throw new Error(`CI=true and no Docker engine: ${availability.reason}`);
  }
  return availability.ok;
}

function probeOrStart(): { ok: boolean; reason: string } {
  if (run("sh", ["-c", "command -v docker"]).status !== 0)
    return { ok: false, reason: "the docker client is not installed" };
  if (dockerAnswers()) return { ok: true, reason: "" };
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return {
      ok: false,
      reason:
        "`docker info` fails for this user and dockerd can only be started as root; join the docker group (sudo usermod -aG docker $USER, then log in again) or run as root",
    };
  }
  // Two jest workers may get here at once: flock lets one start dockerd, the other then finds it answering.
  // -o: dockerd must not inherit the lock.
  const started = run(
    "flock",
    ["-o", "-w", "120", path.join(os.tmpdir(), "ems-test-dockerd.lock"), "sh", "-c", DOCKERD_START_SCRIPT],
    {
      env: { ...process.env, DOCKERD_LOG },
      timeoutMs: 150_000,
    },
  );
  if (started.status === 0 && dockerAnswers()) return { ok: true, reason: "" };
  return {
    ok: false,
    reason: `could not start dockerd: ${(started.stdout + started.stderr).trim()}`,
  };
}

/**
 * `describe` when a Docker engine is available (started if needed), otherwise `describe.skip` with the
 * reason printed; in CI a missing engine throws instead (the file fails).
 */
export function describeWithDocker(name: string, fn: () => void): void {
  describeIfAvailable("Docker engine", ensureDocker() ? "" : dockerUnavailableReason(), name, fn);
}

/** Builds (or finds up to date) the local test images; throws with the script's output on failure. */
export function buildTestImages(): void {
  check(run("bash", [BUILD_SCRIPT], { timeoutMs: 150_000 }), BUILD_SCRIPT);
}

// --- translating the program's container specs --------------------------------------------------------

type NetworkAttachmentInput = pulumi.Unwrap<dockerTypes.input.ContainerNetworksAdvanced>;
type NetworkInputs = pulumi.Unwrap<NetworkArgs>;

/** The `source` of a mount; a mount without one (an anonymous volume) is not translated. */
function mountSource(m: MountInput, where: string): string {
  if (m.source === undefined)
    throw new Error(`${where}: a mount without source (${JSON.stringify(m)}) is not translated`);
  return m.source;
}

export interface RunOptions {
  /** Container name; default: the spec's name through `rename`. Required when the spec has none. */
  name?: string;
  /** Maps the program's network and volume names (and the spec's container name) to this run's names. */
  rename?: (name: string) => string;
  /** When set, bind mount sources become `<bindRoot>/<source>` (the host folders the program would use). */
  bindRoot?: string;
  /** Arguments after the image (the image's CMD otherwise, as with the provider's `command` unset). */
  command?: string[];
}

/** Inputs that only steer the Pulumi provider, not the container (the tests wait for health themselves). */
const PROVIDER_ONLY = new Set(["image", "wait", "waitTimeout"]);

interface NetworkAttachment {
  name: string;
  aliases: string[];
}

/** The networks a container spec joins, renamed; the first goes on `docker create`, the others are connected. */
function containerNetworks(inputs: Record<string, unknown>, options: RunOptions = {}): NetworkAttachment[] {
  const rename = options.rename ?? ((n: string) => n);
  return (plain<NetworkAttachmentInput[] | undefined>(inputs.networksAdvanced) ?? []).map((n) => {
    for (const key of Object.keys(n)) {
      if (!["name", "aliases"].includes(key))
        throw new Error(`dockerRunArgs: networksAdvanced.${key} is not translated`);
    }
    return { name: rename(n.name), aliases: n.aliases ?? [] };
  });
}

function mountArg(m: MountInput, options: RunOptions): string {
  for (const key of Object.keys(m)) {
    if (!["type", "source", "target", "readOnly"].includes(key))
      throw new Error(`dockerRunArgs: mounts[].${key} is not translated`);
  }
  let source: string;
  if (m.type === "volume") source = (options.rename ?? ((n: string) => n))(mountSource(m, "dockerRunArgs"));
  else if (m.type === "bind")
    source = options.bindRoot
      ? path.join(options.bindRoot, mountSource(m, "dockerRunArgs"))
      : mountSource(m, "dockerRunArgs");
  else throw new Error(`dockerRunArgs: mount type ${m.type} is not translated`);
  const fields = [`type=${m.type}`, `source=${source}`, `target=${m.target}`, ...(m.readOnly ? ["readonly"] : [])];
  if (fields.some((f) => f.includes(","))) throw new Error(`dockerRunArgs: a comma in mount ${JSON.stringify(m)}`);
  return fields.join(",");
}

/**
 * `docker create`/`docker run` arguments (options, image, command) for a docker.Container's resolved
 * inputs, with `image` instead of the program's. Only the first network is given (`--network` and its
 * aliases): daemons before API 1.44 take one network at create time; `containerNetworks(...).slice(1)` are
 * connected before start (`startContainer` does all of it). Memory and shm sizes are MB in the provider.
 */
export function dockerRunArgs(rawInputs: Record<string, unknown>, image: string, options: RunOptions = {}): string[] {
  const inputs = plain<ContainerInputs>(rawInputs);
  const rename = options.rename ?? ((n: string) => n);
  const args: string[] = [];
  const name = options.name ?? (inputs.name ? rename(inputs.name) : undefined);
  if (!name) throw new Error("dockerRunArgs: the spec has no name; pass options.name");
  args.push("--name", name);

  for (const [key, value] of Object.entries<unknown>(inputs)) {
    if (PROVIDER_ONLY.has(key) || key === "name" || value === undefined) continue;
    switch (key) {
      case "envs":
        for (const e of value as string[]) args.push("--env", e);
        break;
      case "labels":
        for (const l of value as { label: string; value: string }[]) args.push("--label", `${l.label}=${l.value}`);
        break;
      case "memory":
        args.push("--memory", `${value}m`);
        break;
      case "shmSize":
        args.push("--shm-size", `${value}m`);
        break;
      case "memorySwap":
        args.push("--memory-swap", `${value}m`);
        break;
      case "stopTimeout":
        if (inputs.destroyGraceSeconds === undefined) args.push("--stop-timeout", String(value));
        break;
      case "restart":
        args.push("--restart", String(value));
        break;
      case "destroyGraceSeconds":
        args.push("--stop-timeout", String(inputs.stopTimeout ?? value));
        break;
      case "securityOpts":
        for (const o of value as string[]) args.push("--security-opt", o);
        break;
      case "logDriver":
        args.push("--log-driver", String(value));
        break;
      case "logOpts":
        for (const [k, v] of Object.entries(value as Record<string, string>)) args.push("--log-opt", `${k}=${v}`);
        break;
      case "healthcheck": {
        const h = value as {
          tests: string[];
          interval?: string;
          timeout?: string;
          retries?: number;
          startPeriod?: string;
        };
        if (h.tests[0] === "NONE") {
          args.push("--no-healthcheck");
          break;
        }
        // `docker run --health-cmd` always makes a CMD-SHELL check; an exec-form (CMD) one has no CLI form.
        if (h.tests[0] !== "CMD-SHELL" || h.tests.length !== 2)
          throw new Error(`dockerRunArgs: healthcheck ${JSON.stringify(h.tests)} is not a CMD-SHELL check`);
        args.push("--health-cmd", h.tests[1]);
        if (h.interval) args.push("--health-interval", h.interval);
        if (h.timeout) args.push("--health-timeout", h.timeout);
        if (h.retries !== undefined) args.push("--health-retries", String(h.retries));
        if (h.startPeriod) args.push("--health-start-period", h.startPeriod);
        break;
      }
      case "mounts":
        for (const m of value as MountInput[]) args.push("--mount", mountArg(m, options));
        break;
      case "ports":
        for (const p of value as {
          internal: number;
          external?: number;
          ip?: string;
          protocol?: string;
        }[]) {
          const host = p.external === undefined ? "" : `${p.ip ? `${p.ip}:` : ""}${p.external}:`;
          args.push("--publish", `${host}${p.internal}/${p.protocol ?? "tcp"}`);
        }
        break;
      case "networksAdvanced": {
        const [first] = containerNetworks(inputs, options);
        if (first) {
          args.push("--network", first.name);
          for (const a of first.aliases) args.push("--network-alias", a);
        }
        break;
      }
      case "command":
        break; // after the image, below
      default:
        throw new Error(`dockerRunArgs: container input "${key}" is not translated (${JSON.stringify(value)})`);
    }
  }
  args.push(image, ...(options.command ?? (inputs.command as string[] | undefined) ?? []));
  return args;
}

// --- one test file's Docker objects -------------------------------------------------------------------

/** Everything one test file creates on the engine, under names unique to the run; `cleanup()` removes it. */
export class DockerScratch {
  /** Suffix of every name this run creates. */
  readonly id: string;
  private readonly containers = new Set<string>();
  private readonly volumes = new Set<string>();
  private readonly networks = new Set<string>();
  private readonly dirs = new Set<string>();

  constructor(prefix: string) {
    this.id = `${prefix}${process.pid}${crypto.randomBytes(3).toString("hex")}`;
  }

  /** The run's name for one of the program's names (container, network, volume). */
  readonly rename = (name: string): string => `${name}-t${this.id}`;

  /** Marks a container made elsewhere (e.g. `docker run`) as this run's: cleanup removes it. */
  track(name: string): string {
    this.containers.add(name);
    return name;
  }

  /** A temp folder removed by cleanup. */
  dir(label: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ems-docker-${label}-`));
    this.dirs.add(dir);
    return dir;
  }

  /** `docker network create` of the program's network (renamed), internal when the program's is. */
  network(inputs: Record<string, unknown>): string {
    const spec = plain<NetworkInputs>(inputs);
    for (const key of Object.keys(spec)) {
      if (!["name", "internal", "driver"].includes(key))
        throw new Error(`DockerScratch.network: input ${key} is not translated`);
    }
    if (!spec.name) throw new Error("DockerScratch.network: the spec has no name");
    const name = this.rename(spec.name);
    docker([
      "network",
      "create",
      ...(spec.driver ? ["--driver", spec.driver] : []),
      ...(spec.internal ? ["--internal"] : []),
      name,
    ]);
    this.networks.add(name);
    return name;
  }

  /** `docker volume create` of the program's volume (renamed). */
  volume(inputs: Record<string, unknown>): string {
    const spec = plain<{ name?: string }>(inputs);
    for (const key of Object.keys(spec)) {
      if (key !== "name") throw new Error(`DockerScratch.volume: input ${key} is not translated`);
    }
    if (!spec.name) throw new Error("DockerScratch.volume: the spec has no name");
    const name = this.rename(spec.name);
    docker(["volume", "create", name]);
    this.volumes.add(name);
    return name;
  }

  /**
   * Creates the container of a spec (dockerRunArgs), connects its other networks, creates the bind
   * sources under options.bindRoot, and starts it. Returns its name.
   */
  start(inputs: Record<string, unknown>, image: string, options: RunOptions = {}): string {
    const opts: RunOptions = { rename: this.rename, ...options };
    const args = dockerRunArgs(inputs, image, opts);
    const name = args[args.indexOf("--name") + 1];
    if (opts.bindRoot) {
      for (const m of plain<MountInput[] | undefined>(inputs.mounts) ?? []) {
        if (m.type === "bind")
          fs.mkdirSync(path.join(opts.bindRoot, mountSource(m, "DockerScratch.start")), { recursive: true });
      }
    }
    this.containers.add(name);
    docker(["create", ...args]);
    for (const n of containerNetworks(inputs, opts).slice(1)) {
      docker(["network", "connect", ...n.aliases.flatMap((a) => ["--alias", a]), n.name, name]);
    }
    docker(["start", name]);
    return name;
  }

  /**
   * The Engine API twin of `start` (createThroughEngine): exec-form healthchecks, entrypoint arrays and
   * uploads, which the CLI cannot express. Creates the bind sources under options.bindRoot first.
   */
  async create(inputs: Record<string, unknown>, image: string, options: RunOptions = {}): Promise<string> {
    const opts: RunOptions = { rename: this.rename, ...options };
    const specName = plain<ContainerInputs>(inputs).name;
    const name = options.name ?? (specName ? opts.rename!(specName) : undefined);
    if (!name) throw new Error("DockerScratch.create: the spec has no name; pass options.name");
    if (opts.bindRoot) {
      for (const m of plain<MountInput[] | undefined>(inputs.mounts) ?? []) {
        if (m.type === "bind")
          fs.mkdirSync(path.join(opts.bindRoot, mountSource(m, "DockerScratch.create")), { recursive: true });
      }
    }
    this.containers.add(name);
    return createThroughEngine(inputs, image, name, opts);
  }

  /** Stops (SIGTERM, then SIGKILL after `graceSeconds`) and removes a container. */
  remove(name: string, graceSeconds = 10): void {
    docker(["stop", "-t", String(graceSeconds), name], {
      timeoutMs: (graceSeconds + 30) * 1000,
    });
    docker(["rm", name]);
    this.containers.delete(name);
  }

  /** Removes every container, network, volume and folder this run created. Safe to call twice. */
  cleanup(): void {
    const errors: string[] = [];
    const attempt = (args: string[]) => {
      const r = run("docker", args, { timeoutMs: 60_000 });
      if (r.status !== 0 && !/No such|not found/i.test(r.stderr))
        errors.push(`docker ${args.join(" ")}: ${r.stderr.trim()}`);
    };
    for (const c of this.containers) attempt(["rm", "-f", "-v", c]);
    for (const v of this.volumes) attempt(["volume", "rm", "-f", v]);
    for (const n of this.networks) attempt(["network", "rm", n]);
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    this.containers.clear();
    this.volumes.clear();
    this.networks.clear();
    this.dirs.clear();
    if (errors.length > 0) throw new Error(`cleanup left things behind:\n${errors.join("\n")}`);
  }
}

// --- inspecting running containers --------------------------------------------------------------------

/** `docker inspect` of one object. */
export function inspect(
  name: string,
  type: "container" | "network" | "volume" | "image" = "container",
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the engine's JSON differs per object type and API version; callers read the fields they assert on
): any {
  return JSON.parse(docker([type, "inspect", name]))[0];
}

export interface HealthState {
  Status: string;
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

/** The part of `docker inspect`'s `State` the health wait reads. */
interface ContainerState {
  Running: boolean;
  ExitCode: number;
  Health?: HealthState;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the container's health status is `want` and returns the health state; throws when the time
 * is up, when it reaches the other final status, or when the container stops (with its logs).
 */
export async function waitForHealth(
  name: string,
  want: "healthy" | "unhealthy",
  timeoutMs: number,
): Promise<HealthState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = inspect(name).State as ContainerState;
    const health = state.Health;
    if (!health) throw new Error(`${name} has no healthcheck`);
    if (health.Status === want) return health;
    const other = want === "healthy" ? "unhealthy" : "healthy";
    if (health.Status === other || !state.Running || Date.now() > deadline) {
      const logs = run("docker", ["logs", "--tail", "30", name]);
      throw new Error(
        `${name}: wanted ${want}, got ${health.Status} (running: ${state.Running}, exit ${state.ExitCode})\n` +
          `health log: ${JSON.stringify(health.Log, null, 1)}\nlogs:\n${logs.stdout}${logs.stderr}`,
      );
    }
    await sleep(500);
  }
}

/** Docker's durations (health intervals...) are nanoseconds. */
export function nanoseconds(duration: string): number {
  // Go's Duration.String(): "1m0s", "2m30s", "1h0m0s", "500ms", "5s".
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(duration);
  if (!m || duration === "") throw new Error(`unsupported duration ${duration}`);
  const [h, min, sec, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return ((h * 3600 + min * 60 + sec) * 1000 + ms) * 1e6;
}

// --- the Docker Engine API (what the provider calls), over the unix socket -----------------------------

/** The engine's socket (DOCKER_HOST=unix://... overrides). */
const DOCKER_SOCKET = (process.env.DOCKER_HOST ?? "").startsWith("unix://")
  ? process.env.DOCKER_HOST!.slice(7)
  : "/var/run/docker.sock";

interface EngineResponse {
  status: number;
  body: string;
}

/** One Engine API call; a JSON body is sent as JSON, a Buffer as a tar. Throws for a status >= 400. */
function engine(method: string, apiPath: string, body?: object | Buffer, timeoutMs = 60_000): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {};
    if (payload) {
      headers["content-type"] = Buffer.isBuffer(body) ? "application/x-tar" : "application/json";
      headers["content-length"] = payload.length;
    }
    const req = http.request(
      {
        socketPath: DOCKER_SOCKET,
        method,
        path: apiPath,
        headers,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 500) >= 400)
            reject(new Error(`docker API ${method} ${apiPath} -> ${res.statusCode}: ${text.trim()}`));
          else resolve({ status: res.statusCode ?? 0, body: text });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`docker API ${method} ${apiPath}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** Inputs the provider uses itself and the engine never sees (the tests wait for health themselves). */
const ENGINE_PROVIDER_ONLY = new Set([
  "image",
  "name",
  "wait",
  "waitTimeout",
  "destroyGraceSeconds",
  "networksAdvanced",
  "uploads",
]);

const MiB = 1024 * 1024;

/** The provider's upload modes: 0644, 0744 with `executable`, or `permissions` (octal string). */
function uploadFiles(inputs: ContainerInputs): TarFile[] {
  return (inputs.uploads ?? []).map((u) => {
    for (const key of Object.keys(u)) {
      if (
        !["file", "content", "contentBase64", "executable", "permissions"].includes(key) ||
        (key === "permissions" && !/^0?[0-7]{3,4}$/.test(String(u.permissions)))
      ) {
        throw new Error(`engineCreateBody: uploads[].${key} is not translated`);
      }
    }
    if ((u.content === undefined) === (u.contentBase64 === undefined))
      throw new Error(`engineCreateBody: upload ${u.file} needs exactly one of content, contentBase64`);
    const content =
      u.content !== undefined ? Buffer.from(u.content, "utf8") : Buffer.from(u.contentBase64 ?? "", "base64");
    const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
    if (!String(u.file).startsWith("/")) throw new Error(`engineCreateBody: upload path ${u.file} is not absolute`);
    return { name: String(u.file).slice(1), content, mode };
  });
}

/** `HostConfig` of a create body: the fields this translation sets. */
interface EngineHostConfig {
  Memory?: number;
  MemorySwap?: number;
  ShmSize?: number;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  SecurityOpt?: string[];
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  Mounts?: { Type: string; Source: string; Target: string; ReadOnly: boolean }[];
  PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
  CapAdd?: string[];
  CapDrop?: string[];
}

/** The body of `POST /containers/create` (Engine API 1.41): the fields this translation sets. */
export interface EngineCreateBody {
  Image: string;
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  StopTimeout?: number;
  StopSignal?: string;
  /** Durations in nanoseconds. */
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
    StartInterval?: number;
  };
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig: EngineHostConfig;
  NetworkingConfig?: { EndpointsConfig: Record<string, { Aliases: string[] }> };
}

/**
 * The body of `POST /containers/create` for a docker.Container's resolved inputs, with `image` instead of
 * the program's; every input is translated or this throws. Memory sizes are MB in the provider, bytes
 * here; durations are Go strings there, nanoseconds here. Only the first network is in the body (API
 * 1.41 takes one); `containerNetworks(...).slice(1)` are connected before start.
 */
export function engineCreateBody(
  rawInputs: Record<string, unknown>,
  image: string,
  options: RunOptions = {},
): EngineCreateBody {
  const inputs = plain<ContainerInputs>(rawInputs);
  const host: EngineHostConfig = {};
  const body: EngineCreateBody = { Image: image, HostConfig: host };
  for (const [key, value] of Object.entries<unknown>(inputs)) {
    if (ENGINE_PROVIDER_ONLY.has(key) || value === undefined) continue;
    switch (key) {
      case "entrypoints":
        body.Entrypoint = inputs.entrypoints;
        break;
      case "command":
        body.Cmd = inputs.command;
        break;
      case "user":
        body.User = inputs.user;
        break;
      case "capabilities": {
        const caps = value as { adds?: string[]; drops?: string[] };
        for (const k of Object.keys(caps)) {
          if (!["adds", "drops"].includes(k)) throw new Error(`engineCreateBody: capabilities.${k} is not translated`);
        }
        if (caps.adds) host.CapAdd = caps.adds;
        if (caps.drops) host.CapDrop = caps.drops;
        break;
      }
      case "envs":
        body.Env = inputs.envs;
        break;
      case "labels":
        body.Labels = Object.fromEntries((inputs.labels ?? []).map((l) => [l.label, l.value]));
        break;
      case "memory":
        host.Memory = Number(value) * MiB;
        break;
      case "memorySwap":
        host.MemorySwap = Number(value) * MiB;
        break;
      case "shmSize":
        host.ShmSize = Number(value) * MiB;
        break;
      case "restart":
        host.RestartPolicy = { Name: inputs.restart };
        break;
      case "maxRetryCount":
        host.RestartPolicy = {
          ...host.RestartPolicy,
          MaximumRetryCount: inputs.maxRetryCount,
        };
        break;
      case "stopTimeout":
        body.StopTimeout = inputs.stopTimeout;
        break;
      case "stopSignal":
        body.StopSignal = inputs.stopSignal;
        break;
      case "securityOpts":
        host.SecurityOpt = inputs.securityOpts;
        break;
      case "logDriver":
        host.LogConfig = { ...host.LogConfig, Type: inputs.logDriver };
        break;
      case "logOpts":
        host.LogConfig = { ...host.LogConfig, Config: inputs.logOpts as Record<string, string> };
        break;
      case "healthcheck": {
        const h = value as HealthcheckInput;
        for (const k of Object.keys(h)) {
          if (!["tests", "interval", "timeout", "retries", "startPeriod", "startInterval"].includes(k))
            throw new Error(`engineCreateBody: healthcheck.${k} is not translated`);
        }
        const ns = (d?: string) => (d === undefined ? undefined : nanoseconds(d));
        body.Healthcheck = {
          Test: h.tests,
          Interval: ns(h.interval),
          Timeout: ns(h.timeout),
          Retries: h.retries,
          StartPeriod: ns(h.startPeriod),
          StartInterval: ns(h.startInterval),
        };
        break;
      }
      case "mounts":
        host.Mounts = (value as MountInput[]).map((m) => {
          for (const k of Object.keys(m)) {
            if (!["type", "source", "target", "readOnly"].includes(k))
              throw new Error(`engineCreateBody: mounts[].${k} is not translated`);
          }
          if (m.type !== "bind" && m.type !== "volume")
            throw new Error(`engineCreateBody: mount type ${m.type} is not translated`);
          const source =
            m.type === "volume"
              ? (options.rename ?? ((n: string) => n))(mountSource(m, "engineCreateBody"))
              : options.bindRoot
                ? path.join(options.bindRoot, mountSource(m, "engineCreateBody"))
                : mountSource(m, "engineCreateBody");
          return {
            Type: m.type,
            Source: source,
            Target: m.target,
            ReadOnly: Boolean(m.readOnly),
          };
        });
        break;
      case "ports": {
        const exposed: Record<string, Record<string, never>> = {};
        const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
        body.ExposedPorts = exposed;
        host.PortBindings = bindings;
        for (const p of value as PortInput[]) {
          const port = `${p.internal}/${p.protocol ?? "tcp"}`;
          exposed[port] = {};
          (bindings[port] ??= []).push({
            HostIp: p.ip ?? "",
            HostPort: p.external === undefined ? "" : String(p.external),
          });
        }
        break;
      }
      default:
        throw new Error(`engineCreateBody: container input "${key}" is not translated (${JSON.stringify(value)})`);
    }
  }
  const [first] = containerNetworks(inputs, options);
  if (first)
    body.NetworkingConfig = {
      EndpointsConfig: { [first.name]: { Aliases: first.aliases } },
    };
  uploadFiles(inputs); // validates before anything is created
  return body;
}

/**
 * Creates a container through the Engine API in the provider's order: create, networks, uploads (one
 * `PUT /archive` per file at /, as the provider's CopyToContainer), start. Returns the container's name.
 */
export async function createThroughEngine(
  rawInputs: Record<string, unknown>,
  image: string,
  name: string,
  options: RunOptions = {},
): Promise<string> {
  const inputs = plain<ContainerInputs>(rawInputs);
  const body = engineCreateBody(inputs, image, options);
  await engine("POST", `/containers/create?name=${encodeURIComponent(name)}`, body);
  for (const n of containerNetworks(inputs, options).slice(1)) {
    await engine("POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
      Container: name,
      EndpointConfig: { Aliases: n.aliases },
    });
  }
  for (const file of uploadFiles(inputs)) {
    await engine("PUT", `/containers/${encodeURIComponent(name)}/archive?path=%2F`, tarArchive([file]));
  }
  await engine("POST", `/containers/${encodeURIComponent(name)}/start`);
  return name;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request from the host to a container's address (its IP on a local network), bounded. */
export function httpTo(
  host: string,
  port: number,
  req: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
  },
  timeoutMs = 10_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host,
        port,
        method: req.method ?? "GET",
        path: req.path,
        headers: req.headers,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    r.on("timeout", () =>
      r.destroy(new Error(`${req.method ?? "GET"} http://${host}:${port}${req.path}: no answer in ${timeoutMs} ms`)),
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

/** The container's address on one of its networks. */
export function containerIp(name: string, network: string): string {
  const ip = inspect(name).NetworkSettings.Networks?.[network]?.IPAddress;
  if (!ip) throw new Error(`${name} has no address on ${network}`);
  return ip;
}

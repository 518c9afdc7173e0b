/**
 * What the Docker provider (kreuzwerker v4.5.0, pinned by @pulumi/docker 5.2.0) does with a container spec, on a
 * real engine, through the Engine API:
 * - `createLikeProvider`: resourceDockerContainerCreate's requests (ContainerCreate on `bridge`, disconnect
 *   `bridge` and connect each networksAdvanced, upload each file as a one-file tar, start);
 * - `readBackLikeProvider`: resourceDockerContainerRead's mapping of `docker inspect` back into the inputs
 *   (memory in MB, memorySwap in MB or -1, healthcheck durations as Go's Duration.String(), ports, ...);
 * - `readBackDiff`: the inputs whose read-back differs from what the spec sets, i.e. what the next `pulumi up`
 *   would show as a change without anything having changed.
 * Only the inputs the program uses are translated; any other makes `createLikeProvider` throw.
 */
import * as http from "http";
import { stableJson } from "./diff";
import { ContainerInputs, HealthcheckInput, MountInput, plain, PortInput, tarArchive } from "./engineSpec";

export interface EngineReply<B = unknown> {
  status: number;
  /** The parsed JSON answer (the text when it is not JSON, undefined when empty), as the caller expects it shaped. */
  body: B;
}

/** The part of `GET /containers/{id}/json` the provider's Read maps back (and the tests read). */
export interface InspectedContainer {
  Id: string;
  Name: string;
  State: { Running: boolean; Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] } };
  Config: {
    Image: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    User?: string;
    WorkingDir?: string;
    StopTimeout?: number | null;
    StopSignal?: string | null;
    Healthcheck?: {
      Test?: string[];
      Interval?: number;
      Timeout?: number;
      StartPeriod?: number;
      StartInterval?: number;
      Retries?: number;
    };
  };
  HostConfig: {
    RestartPolicy?: { Name: string };
    SecurityOpt?: string[] | null;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Memory: number;
    MemorySwap: number;
    ShmSize: number;
    LogConfig?: { Type: string; Config?: Record<string, string> };
    NetworkMode: string;
    Mounts?: { Target: string; Source: string; Type: string; ReadOnly?: boolean }[] | null;
  };
  NetworkSettings?: {
    Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    Networks?: Record<string, { IPAddress: string }>;
  };
}

/** One Engine API request over a unix socket; JSON in and out (`B`: the shape of the JSON answer). */
export function engine<B = unknown>(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
  raw?: Buffer,
  timeoutMs = 60_000,
): Promise<EngineReply<B>> {
  return new Promise((resolve, reject) => {
    const payload = raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    const req = http.request(
      {
        socketPath: socket,
        method,
        path,
        timeout: timeoutMs,
        headers: payload
          ? { "Content-Type": raw ? "application/x-tar" : "application/json", "Content-Length": payload.length }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as B });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

async function ok<B>(reply: Promise<EngineReply<B>>, what: string, accept: number[] = [200, 201, 204]): Promise<B> {
  const r = await reply;
  if (!accept.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Go's time.Duration.String() of a number of nanoseconds: 60 s is "1m0s", 2 s "2s", 0 "0s". */
function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1e9) {
    if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
    if (ns % 1e3 === 0) return `${ns / 1e3}µs`;
    return `${ns}ns`;
  }
  const totalSeconds = ns / 1e9;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = +(totalSeconds % 60).toFixed(9);
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Nanoseconds of a provider duration input (Go's time.ParseDuration subset: 500ms, 2s, 1m0s, 1h2m3s). */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };
  let total = 0;
  let rest = text;
  if (rest === "0") return 0;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/.exec(rest);
    if (!m) throw new Error(`parseDuration: not a Go duration: ${text}`);
    total += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

const MB = 1024 * 1024;

export interface CreateOptions {
  /** Engine API socket. */
  socket: string;
  /** Container name to use (the spec's name, renamed, or a name for an autonamed spec). */
  name: string;
  /** Image to run instead of the spec's. */
  image: string;
  /** Maps the spec's network names to this run's. */
  network: (name: string) => string;
  /** Maps the spec's volume names to this run's. */
  volume: (name: string) => string;
  /** Maps a bind mount source to the folder used here. */
  bind: (source: string) => string;
  /** Maps a published host port to the one used here (80/443 may be taken). */
  hostPort?: (port: number) => number;
  /** NetworkMode at create time; the provider's default is `bridge` (an engine without it needs another). */
  createNetworkMode?: string;
}

/** Inputs that steer only the provider (wait for health, how to stop), never sent to the engine at create. */
const PROVIDER_SIDE = new Set(["wait", "waitTimeout", "destroyGraceSeconds", "name", "image"]);

/** A container spec as this run sends it: the spec's inputs with this run's name and image. */
export type LocalSpec = ContainerInputs & { name: string; image: string };

/** Where a mount's source is on this run's engine (a mount without source stays without). */
function localSource(m: MountInput, o: CreateOptions): string | undefined {
  if (m.source === undefined) return undefined;
  return m.type === "volume" ? o.volume(m.source) : m.type === "bind" ? o.bind(m.source) : m.source;
}

/** The spec as this run sends it: names and host ports mapped, secrets unwrapped. */
export function localSpec(rawInputs: Record<string, unknown>, o: CreateOptions): LocalSpec {
  const spec = plain<ContainerInputs>(rawInputs);
  const out: LocalSpec = { ...spec, name: o.name, image: o.image };
  if (spec.networksAdvanced)
    out.networksAdvanced = spec.networksAdvanced.map((n) => ({ ...n, name: o.network(n.name) }));
  if (spec.mounts) out.mounts = spec.mounts.map((m) => ({ ...m, source: localSource(m, o) }));
  if (spec.ports)
    out.ports = spec.ports.map((p) => ({
      ...p,
      external: p.external === undefined ? undefined : (o.hostPort ?? ((x: number) => x))(p.external),
    }));
  return out;
}

/** `POST /containers/create`'s body without HostConfig: the fields the provider's Create sets for our inputs. */
interface ProviderCreateConfig {
  Image: string;
  Labels: Record<string, string>;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  User?: string;
  WorkingDir?: string;
  StopTimeout?: number;
  StopSignal?: string;
  Healthcheck?: {
    Test?: string[];
    Interval: number;
    Timeout: number;
    StartPeriod: number;
    StartInterval: number;
    Retries: number;
  };
  ExposedPorts?: Record<string, Record<string, never>>;
}

/** Its HostConfig. */
interface ProviderHostConfig {
  NetworkMode: string;
  Init: boolean;
  Memory?: number;
  MemorySwap?: number;
  ShmSize?: number;
  RestartPolicy?: { Name: string; MaximumRetryCount: number };
  SecurityOpt?: string[];
  CapAdd?: string[];
  CapDrop?: string[];
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  Mounts?: { Type: string; Source?: string; Target: string; ReadOnly: boolean }[];
  PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
}

export interface Created {
  id: string;
  /** Empty when the engine started it; the engine's error otherwise (e.g. a stand-in image without the binary). */
  startError: string;
}

/** ContainerCreate → network disconnect/connect → uploads → start, as the provider's Create does. */
export async function createLikeProvider(rawInputs: Record<string, unknown>, o: CreateOptions): Promise<Created> {
  const spec = localSpec(rawInputs, o);
  const config: ProviderCreateConfig = { Image: spec.image, Labels: {} };
  const hostConfig: ProviderHostConfig = {
    NetworkMode: o.createNetworkMode ?? spec.networkMode ?? "bridge",
    Init: false,
  };
  for (const [key, value] of Object.entries<unknown>(spec)) {
    if (value === undefined || PROVIDER_SIDE.has(key) || key === "networksAdvanced" || key === "uploads") continue;
    switch (key) {
      case "envs":
        config.Env = spec.envs;
        break;
      case "command":
        config.Cmd = spec.command;
        break;
      case "entrypoints":
        config.Entrypoint = spec.entrypoints;
        break;
      case "user":
        config.User = spec.user;
        break;
      case "capabilities": {
        const caps = spec.capabilities as { adds?: string[]; drops?: string[] };
        if (caps.adds) hostConfig.CapAdd = caps.adds;
        if (caps.drops) hostConfig.CapDrop = caps.drops;
        break;
      }
      case "workingDir":
        config.WorkingDir = spec.workingDir;
        break;
      case "stopTimeout":
        config.StopTimeout = spec.stopTimeout;
        break;
      case "stopSignal":
        config.StopSignal = spec.stopSignal;
        break;
      case "labels":
        config.Labels = Object.fromEntries((spec.labels ?? []).map((l) => [l.label, l.value]));
        break;
      case "healthcheck": {
        const h = value as HealthcheckInput;
        config.Healthcheck = {
          Test: h.tests,
          Interval: parseDuration(h.interval ?? "0s"),
          Timeout: parseDuration(h.timeout ?? "0s"),
          StartPeriod: parseDuration(h.startPeriod ?? "0s"),
          StartInterval: parseDuration(h.startInterval ?? "0s"),
          Retries: h.retries ?? 0,
        };
        break;
      }
      case "memory":
        hostConfig.Memory = (value as number) * MB;
        break;
      case "memorySwap": {
        const swap = value as number;
        hostConfig.MemorySwap = swap > 0 ? swap * MB : swap;
        break;
      }
      case "shmSize":
        hostConfig.ShmSize = (value as number) * MB;
        break;
      case "restart":
        hostConfig.RestartPolicy = { Name: value as string, MaximumRetryCount: 0 };
        break;
      case "securityOpts":
        hostConfig.SecurityOpt = spec.securityOpts;
        break;
      case "logDriver":
        hostConfig.LogConfig = { ...(hostConfig.LogConfig ?? {}), Type: spec.logDriver };
        break;
      case "logOpts":
        hostConfig.LogConfig = { ...(hostConfig.LogConfig ?? {}), Config: value as Record<string, string> };
        break;
      case "networkMode":
        break; // set above
      case "mounts":
        hostConfig.Mounts = (value as MountInput[]).map((m) => {
          for (const k of Object.keys(m))
            if (!["type", "source", "target", "readOnly"].includes(k))
              throw new Error(`createLikeProvider: mounts[].${k} is not translated`);
          return { Type: m.type, Source: m.source, Target: m.target, ReadOnly: !!m.readOnly };
        });
        break;
      case "ports": {
        const exposed: Record<string, Record<string, never>> = {};
        const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
        config.ExposedPorts = exposed;
        hostConfig.PortBindings = bindings;
        for (const p of value as PortInput[]) {
          const k = `${p.internal}/${p.protocol ?? "tcp"}`;
          exposed[k] = {};
          (bindings[k] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: String(p.external ?? "") });
        }
        break;
      }
      default:
        throw new Error(`createLikeProvider: container input "${key}" is not translated (${JSON.stringify(value)})`);
    }
  }
  const created = await ok(
    engine<{ Id: string }>(o.socket, "POST", `/containers/create?name=${encodeURIComponent(o.name)}`, {
      ...config,
      HostConfig: hostConfig,
    }),
    `create ${o.name}`,
  );
  const id: string = created.Id;
  if (spec.networksAdvanced?.length) {
    // "is not connected to the network bridge" (or no bridge network at all) is ignored, as by the provider.
    await engine(o.socket, "POST", `/networks/bridge/disconnect`, { Container: id, Force: false });
    for (const n of spec.networksAdvanced) {
      for (const k of Object.keys(n))
        if (!["name", "aliases"].includes(k))
          throw new Error(`createLikeProvider: networksAdvanced.${k} is not translated`);
      await ok(
        engine(o.socket, "POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
          Container: id,
          EndpointConfig: { Aliases: n.aliases ?? [] },
        }),
        `connect ${o.name} to ${n.name}`,
      );
    }
  }
  for (const u of spec.uploads ?? []) {
    for (const k of Object.keys(u))
      if (!["file", "content", "contentBase64", "executable", "permissions"].includes(k))
        throw new Error(`createLikeProvider: uploads[].${k} is not translated`);
    const content =
      u.contentBase64 !== undefined ? Buffer.from(u.contentBase64, "base64") : Buffer.from(u.content ?? "", "utf8");
    const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
    await ok(
      engine(
        o.socket,
        "PUT",
        `/containers/${id}/archive?path=/`,
        undefined,
        tarArchive([{ name: String(u.file).replace(/^\/+/, ""), content, mode }]),
      ),
      `upload ${u.file} into ${o.name}`,
    );
  }
  const started = await engine(o.socket, "POST", `/containers/${id}/start`);
  return {
    id,
    startError: [204, 304].includes(started.status) ? "" : `HTTP ${started.status} ${JSON.stringify(started.body)}`,
  };
}

/** A port as Read stores it. */
interface ReadPort {
  internal: number;
  external: number;
  ip: string;
  protocol: string;
}

/** A mount as Read stores it. */
interface ReadMount {
  target: string;
  source: string;
  type: string;
  readOnly: boolean;
}

/** The state the provider's Read writes, for the inputs the program uses (READ_BACK_INPUTS). */
export interface ReadBackState {
  name: string;
  image: string;
  command?: string[];
  entrypoints?: string[];
  user?: string;
  workingDir?: string;
  restart?: string;
  securityOpts?: string[];
  capabilities?: { adds: string[]; drops: string[] };
  memory: number;
  memorySwap: number;
  shmSize: number;
  logDriver?: string;
  logOpts?: Record<string, string>;
  networkMode: string;
  mounts: ReadMount[];
  ports: ReadPort[];
  healthcheck?: {
    tests?: string[];
    interval: string;
    timeout: string;
    startPeriod: string;
    startInterval: string;
    retries: number;
  };
  stopTimeout?: number;
  stopSignal?: string;
}

/** resourceDockerContainerRead: the state the provider writes from `docker inspect` (for the inputs we use). */
export function readBackLikeProvider(inspect: InspectedContainer, spec: LocalSpec): ReadBackState {
  const hc = inspect.Config.Healthcheck;
  const ports: ReadPort[] = [];
  const portMap = inspect.NetworkSettings?.Ports ?? {};
  const keys = Object.keys(portMap).sort((a, b) => {
    const [pa, qa] = a.split("/");
    const [pb, qb] = b.split("/");
    return Number(pa) - Number(pb) || qa.localeCompare(qb);
  });
  for (const k of keys)
    for (const b of portMap[k] ?? [])
      ports.push({
        internal: Number(k.split("/")[0]),
        external: Number(b.HostPort),
        ip: b.HostIp,
        protocol: k.split("/")[1],
      });
  return {
    name: String(inspect.Name).replace(/^\/+/, ""),
    image: inspect.Config.Image,
    command: inspect.Config.Cmd ?? undefined,
    entrypoints: inspect.Config.Entrypoint ?? undefined,
    user: inspect.Config.User,
    workingDir: inspect.Config.WorkingDir,
    restart: inspect.HostConfig.RestartPolicy?.Name,
    securityOpts: inspect.HostConfig.SecurityOpt ?? undefined,
    capabilities: { adds: inspect.HostConfig.CapAdd ?? [], drops: inspect.HostConfig.CapDrop ?? [] },
    memory: inspect.HostConfig.Memory / MB,
    memorySwap: inspect.HostConfig.MemorySwap > 0 ? inspect.HostConfig.MemorySwap / MB : inspect.HostConfig.MemorySwap,
    shmSize: inspect.HostConfig.ShmSize / MB,
    logDriver: inspect.HostConfig.LogConfig?.Type,
    // containerLogOptsForState: the daemon's merged map, only when the spec sets logOpts.
    logOpts: spec.logOpts !== undefined ? (inspect.HostConfig.LogConfig?.Config ?? {}) : undefined,
    networkMode: inspect.HostConfig.NetworkMode,
    mounts: (inspect.HostConfig.Mounts ?? []).map((m) => ({
      target: m.Target,
      source: m.Source,
      type: m.Type,
      readOnly: !!m.ReadOnly,
    })),
    ports,
    healthcheck: hc
      ? {
          tests: hc.Test,
          interval: goDuration(hc.Interval ?? 0),
          timeout: goDuration(hc.Timeout ?? 0),
          startPeriod: goDuration(hc.StartPeriod ?? 0),
          startInterval: goDuration(hc.StartInterval ?? 0),
          retries: hc.Retries ?? 0,
        }
      : undefined,
    stopTimeout: inspect.Config.StopTimeout ?? undefined,
    stopSignal: inspect.Config.StopSignal ?? undefined,
  };
}

/** The value of an input as the provider's schema sees it after defaults (what the diff compares). */
function withDefaults(key: string, value: unknown): unknown {
  switch (key) {
    case "healthcheck": {
      const h = value as HealthcheckInput;
      return {
        tests: h.tests,
        interval: h.interval ?? "0s",
        timeout: h.timeout ?? "0s",
        startPeriod: h.startPeriod ?? "0s",
        startInterval: h.startInterval ?? "0s",
        retries: h.retries ?? 0,
      };
    }
    case "capabilities": {
      const c = value as { adds?: string[]; drops?: string[] };
      return { adds: c.adds ?? [], drops: c.drops ?? [] };
    }
    case "mounts":
      return [...(value as MountInput[])]
        .map((m) => ({ target: m.target, source: m.source, type: m.type, readOnly: !!m.readOnly }))
        .sort((a, b) => a.target.localeCompare(b.target));
    case "ports":
      return (value as PortInput[]).map((p) => ({
        internal: p.internal,
        external: p.external,
        ip: p.ip ?? "0.0.0.0",
        protocol: p.protocol ?? "tcp",
      }));
    default:
      return value;
  }
}

/** Inputs Read maps back into the state (the ones a perma-diff can come from). */
const READ_BACK_INPUTS = [
  "name",
  "image",
  "command",
  "entrypoints",
  "user",
  "workingDir",
  "restart",
  "securityOpts",
  "capabilities",
  "memory",
  "memorySwap",
  "shmSize",
  "logDriver",
  "logOpts",
  "networkMode",
  "mounts",
  "ports",
  "healthcheck",
  "stopTimeout",
  "stopSignal",
] as const;

export interface ReadBackDifference {
  input: string;
  /** What the spec sets (after the provider's defaults); undefined when unset. */
  spec: unknown;
  /** What Read stores. */
  read: unknown;
}

/**
 * The read-back inputs that differ from the spec: a set input whose read value differs, or an unset input
 * that is Optional and not Computed (memorySwap) whose read value is not empty. `networkMode` is compared
 * with what was sent at create (the provider's default `bridge`).
 */
export function readBackDiff(spec: LocalSpec, read: ReadBackState, sentNetworkMode = "bridge"): ReadBackDifference[] {
  const diffs: ReadBackDifference[] = [];
  for (const key of READ_BACK_INPUTS) {
    let want: unknown = spec[key];
    let got: unknown = read[key];
    if (key === "networkMode") want = want ?? sentNetworkMode;
    if (key === "mounts" && Array.isArray(got))
      got = [...(got as ReadMount[])].sort((a, b) => a.target.localeCompare(b.target));
    if (want === undefined) {
      // Optional + Computed inputs take the read value; memorySwap is Optional only: a read value is a diff.
      if (key === "memorySwap" && got !== 0 && got !== undefined)
        diffs.push({ input: key, spec: undefined, read: got });
      continue;
    }
    want = withDefaults(key, want);
    if (key === "healthcheck" && got) {
      // Per field, as the provider's nested schema diffs it (and as a nested ignoreChanges path names it).
      const wantFields = want as Record<string, unknown>;
      const gotFields = got as Record<string, unknown>;
      for (const field of Object.keys(wantFields)) {
        if (stableJson(wantFields[field]) !== stableJson(gotFields[field]))
          diffs.push({ input: `healthcheck.${field}`, spec: wantFields[field], read: gotFields[field] });
      }
      continue;
    }
    if (stableJson(want) !== stableJson(got)) diffs.push({ input: key, spec: want, read: got });
  }
  return diffs;
}

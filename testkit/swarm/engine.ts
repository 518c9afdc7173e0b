/**
 * A PRIVATE Docker engine in swarm mode for the swarm tests and `npm run bench:swarm`: its own network namespace
 * (created here, `ip netns`), data-root, exec-root, unix socket, pidfile and containerd namespaces. The machine's
 * main engine (shared by other tests) is never touched; nothing here talks to an address outside the namespace.
 *
 * - `PrivateEngine.start()` starts dockerd inside the namespace (`nsenter --net`, so /sys and the cgroup mounts stay
 *   the host's: `ip netns exec` would remount /sys and dockerd would find no cgroups), on a veth pair whose both
 *   ends stay in the namespace (a swarm needs a non-loopback address to advertise).
 * - `engineServiceSpec()` translates a docker.Service's inputs, as the program registered them under the mocks,
 *   into the Engine API's ServiceSpec (what the provider sends); inputs it cannot translate make it throw.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { parseDuration } from "../readbackEngine";

interface Sh {
  status: number | null;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], input?: string | Buffer, timeoutMs = 120_000): Sh {
  const r = spawnSync(cmd, args, { input, encoding: "utf8", timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function must(r: Sh, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr.trim()} ${r.stdout.trim()}`);
  return r.stdout.trim();
}

/** Whether this machine can run a private engine: root, dockerd, nsenter and ip. */
export function privateEngineUnavailable(): string {
  if (process.getuid?.() !== 0) return "not root";
  for (const tool of ["dockerd", "nsenter", "ip", "docker"])
    if (sh("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} not found`;
  return "";
}

/** A network namespace holding one bridge that the engines of a multi-node cluster are wired to. */
export class Hub {
  readonly netns = `ems-hub-${crypto.randomBytes(3).toString("hex")}`;

  constructor() {
    must(sh("ip", ["netns", "add", this.netns]), "ip netns add (hub)");
    const ip = (args: string[]) => must(sh("ip", ["netns", "exec", this.netns, "ip", ...args]), `ip ${args.join(" ")}`);
    ip(["link", "add", "br0", "type", "bridge"]);
    ip(["link", "set", "br0", "up"]);
  }

  /** A veth pair: `eth0` in the engine's namespace, `peer` on the hub's bridge. */
  attach(engineNetns: string, peer: string): void {
    must(
      sh("ip", [
        "link",
        "add",
        "eth0",
        "netns",
        engineNetns,
        "type",
        "veth",
        "peer",
        "name",
        peer,
        "netns",
        this.netns,
      ]),
      "ip link add (hub)",
    );
    must(sh("ip", ["netns", "exec", this.netns, "ip", "link", "set", peer, "master", "br0", "up"]), "bridge port");
  }

  remove(): void {
    sh("ip", ["netns", "del", this.netns]);
  }
}

export class PrivateEngine {
  readonly id = crypto.randomBytes(3).toString("hex");
  readonly netns: string;
  readonly dir: string;
  readonly socket: string;
  /** The node's address inside the namespace (advertised to the swarm). */
  readonly address: string;

  constructor(label: string, address = `10.231.${1 + (crypto.randomBytes(1)[0] % 250)}.1`) {
    this.netns = `ems-${label}-${this.id}`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `ems-${label}-`));
    this.socket = path.join(this.dir, "docker.sock");
    this.address = address;
  }

  /** The environment that points the `docker` CLI (and the program's swarm scripts) at this engine. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: `unix://${this.socket}` };
  }

  /** `docker -H <this engine> ARGS` (throws on failure). */
  docker(args: string[], input?: string | Buffer, timeoutMs?: number): string {
    return must(sh("docker", ["-H", `unix://${this.socket}`, ...args], input, timeoutMs), `docker ${args.join(" ")}`);
  }

  /** A command run inside the namespace (the client loop, curl): loopback there is this engine's host ports. */
  inNamespace(cmd: string[]): string[] {
    return ["nsenter", `--net=/var/run/netns/${this.netns}`, ...cmd];
  }

  /** Starts the engine; with a hub, its address is on the hub's bridge (a multi-node cluster), else on its own. */
  async start(hub?: Hub): Promise<void> {
    must(sh("ip", ["netns", "add", this.netns]), "ip netns add");
    const ns = (args: string[]) => must(sh("ip", ["netns", "exec", this.netns, "ip", ...args]), `ip ${args.join(" ")}`);
    ns(["link", "set", "lo", "up"]);
    if (hub) {
      hub.attach(this.netns, `p${this.id}`);
    } else {
      ns(["link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
      ns(["link", "set", "eth0p", "up"]);
    }
    ns(["addr", "add", `${this.address}/24`, "dev", "eth0"]);
    ns(["link", "set", "eth0", "up"]);
    for (const sub of ["data", "exec"]) fs.mkdirSync(path.join(this.dir, sub));
    const log = fs.openSync(path.join(this.dir, "dockerd.log"), "a");
    const child = spawn(
      "nsenter",
      [
        `--net=/var/run/netns/${this.netns}`,
        "dockerd",
        "--data-root",
        path.join(this.dir, "data"),
        "--exec-root",
        path.join(this.dir, "exec"),
        "-H",
        `unix://${this.socket}`,
        "--pidfile",
        path.join(this.dir, "docker.pid"),
        "--containerd-namespace",
        `ems-${this.id}`,
        "--containerd-plugins-namespace",
        `ems-${this.id}-plugins`,
        "--log-level=warn",
      ],
      { detached: true, stdio: ["ignore", log, log] },
    );
    child.unref();
    for (let i = 0; i < 60; i++) {
      if (sh("docker", ["-H", `unix://${this.socket}`, "info", "--format", "{{.ID}}"]).status === 0) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`private dockerd did not start; ${fs.readFileSync(path.join(this.dir, "dockerd.log"), "utf8")}`);
  }

  /** Loads images from the main engine (built there by test/support/images/build.sh): `docker save | docker load`. */
  loadImages(images: string[]): void {
    const saved = spawnSync("docker", ["save", ...images], { maxBuffer: 512 * 1024 * 1024 });
    if (saved.status !== 0) throw new Error(`docker save: ${saved.stderr}`);
    this.docker(["load", "-q"], saved.stdout);
  }

  /** One Engine API call on this engine; a status >= 400 throws. */
  api<T = unknown>(method: string, apiPath: string, body?: object): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = http.request(
        {
          socketPath: this.socket,
          method,
          path: apiPath,
          headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 500) >= 400) reject(new Error(`${method} ${apiPath} -> ${res.statusCode}: ${text}`));
            else resolve((text ? JSON.parse(text) : undefined) as T);
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Stops the engine (its services first), removes the namespace and the folder. */
  stop(): void {
    // The servers ignore SIGTERM: their tasks would hold the engine's shutdown for their 30 s grace. Services go,
    // their containers are killed, then the node leaves its (private) swarm.
    const cli = (args: string) =>
      sh("sh", ["-c", `docker -H ${JSON.stringify(`unix://${this.socket}`)} ${args}`], undefined, 60_000);
    try {
      cli("service ls -q | xargs -r docker -H unix://" + this.socket + " service rm");
      cli("ps -aq | xargs -r docker -H unix://" + this.socket + " rm -f");
      cli("swarm leave --force");
    } catch {
      // stopping anyway
    }
    const pidFile = path.join(this.dir, "docker.pid");
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8")) : 0;
    if (pid > 0) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      // The test process started dockerd, so it lingers as a zombie until reaped: exited is "gone or Z".
      const alive = () => {
        try {
          return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && alive(); i++) spawnSync("sleep", ["0.2"]);
      if (alive()) process.kill(pid, "SIGKILL");
    }
    // Mounts the engine left (overlay layers, the netns bind) are undone before the folder goes.
    const mounts = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((m) => m && m.startsWith(this.dir))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) sh("umount", ["-l", m]);
    sh("ip", ["netns", "del", this.netns]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// --- docker.Service inputs -> Engine API ServiceSpec ------------------------------------------------------

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- provider input shapes

/** What the test replaces in the program's spec, each for a stated reason (the test file says which). */
export interface SpecOverrides {
  /** The local image that stands in for the registry one. */
  image: string;
  /** Mock ids (network, secret, config resources) to this engine's ids. */
  ids: Record<string, string>;
  /** Host folders of bind mounts, by the program's path. */
  binds?: Record<string, string>;
  /** Health probe interval (the config's minimum, 60 s, would make the test minutes long). */
  healthInterval?: string;
  /** The update/rollback monitor window (derived from the interval). */
  monitor?: string;
  /** Published ports in host mode, for the client that stands in for Traefik. */
  hostPorts?: number[];
}

const known = (obj: Json, keys: string[], where: string) => {
  for (const k of Object.keys(obj))
    if (!keys.includes(k)) throw new Error(`${where}.${k} is not translated (add it to engineServiceSpec)`);
};
const labels = (list: { label: string; value: string }[] = []) =>
  Object.fromEntries(list.map((l) => [l.label, l.value]));
const ns = (d?: string) => (d === undefined ? undefined : parseDuration(d));
const strategy = (c: Json | undefined, monitor: string | undefined, where: string) => {
  if (!c) return undefined;
  known(c, ["parallelism", "order", "failureAction", "monitor", "delay", "maxFailureRatio"], where);
  return {
    Parallelism: c.parallelism,
    Order: c.order,
    FailureAction: c.failureAction,
    Monitor: ns(monitor ?? c.monitor),
    Delay: ns(c.delay),
    MaxFailureRatio: c.maxFailureRatio === undefined ? 0 : Number(c.maxFailureRatio),
  };
};

/** The Engine API spec of a registered docker.Service (`POST /services/create`, `/services/{id}/update`). */
export function engineServiceSpec(inputs: Json, o: SpecOverrides): Json {
  known(
    inputs,
    ["name", "mode", "labels", "taskSpec", "updateConfig", "rollbackConfig", "convergeConfig", "endpointSpec", "auth"],
    "service",
  );
  const t = inputs.taskSpec as Json;
  known(t, ["containerSpec", "resources", "logDriver", "networksAdvanceds", "placement", "restartPolicy"], "taskSpec");
  const c = t.containerSpec as Json;
  known(
    c,
    [
      "image",
      "commands",
      "args",
      "env",
      "labels",
      "configs",
      "secrets",
      "mounts",
      "healthcheck",
      "stopGracePeriod",
      "capDrops",
      "readOnly",
    ],
    "containerSpec",
  );
  const id = (mockId: string) => {
    const real = o.ids[mockId];
    if (!real) throw new Error(`no id for ${mockId}`);
    return real;
  };
  const h = c.healthcheck as Json | undefined;
  const prefs = (t.placement?.prefs ?? []) as string[];
  return {
    Name: inputs.name,
    Labels: labels(inputs.labels),
    Mode: inputs.mode?.global ? { Global: {} } : { Replicated: { Replicas: inputs.mode?.replicated?.replicas ?? 1 } },
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Command: c.commands,
        Args: c.args,
        Env: Object.entries((c.env ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`),
        Labels: labels(c.labels),
        Mounts: ((c.mounts ?? []) as Json[]).map((m) => {
          known(m, ["type", "source", "target", "readOnly", "volumeOptions"], "mount");
          const v = m.volumeOptions as Json | undefined;
          if (v) known(v, ["driverName", "driverOptions"], "mount.volumeOptions");
          return {
            Type: m.type,
            Source: m.type === "bind" ? (o.binds?.[m.source] ?? m.source) : m.source,
            Target: m.target,
            ReadOnly: m.readOnly ?? false,
            ...(v ? { VolumeOptions: { DriverConfig: { Name: v.driverName, Options: v.driverOptions } } } : {}),
          };
        }),
        CapabilityDrop: c.capDrops,
        ReadOnly: c.readOnly ?? false,
        HealthCheck: h && {
          Test: h.tests,
          Interval: ns(o.healthInterval ?? h.interval),
          Timeout: ns(h.timeout),
          StartPeriod: ns(h.startPeriod),
          Retries: h.retries,
        },
        StopGracePeriod: ns(c.stopGracePeriod),
        Secrets: ((c.secrets ?? []) as Json[]).map((s) => ({
          SecretID: id(s.secretId),
          SecretName: s.secretName,
          File: { Name: s.fileName, UID: "0", GID: "0", Mode: s.fileMode },
        })),
        Configs: ((c.configs ?? []) as Json[]).map((s) => ({
          ConfigID: id(s.configId),
          ConfigName: s.configName,
          File: { Name: s.fileName, UID: "0", GID: "0", Mode: s.fileMode },
        })),
      },
      Resources: { Limits: { MemoryBytes: t.resources?.limits?.memoryBytes } },
      LogDriver: t.logDriver && { Name: t.logDriver.name, Options: t.logDriver.options },
      Networks: ((t.networksAdvanceds ?? []) as Json[]).map((n) => ({ Target: id(n.id), Aliases: n.aliases })),
      Placement: {
        Constraints: t.placement?.constraints,
        Preferences: prefs.map((p) => {
          const m = /^spread=(.+)$/.exec(p);
          if (!m) throw new Error(`placement preference ${p} is not translated`);
          return { Spread: { SpreadDescriptor: m[1] } };
        }),
      },
      RestartPolicy: t.restartPolicy && {
        Condition: t.restartPolicy.condition,
        Delay: ns(t.restartPolicy.delay),
        Window: ns(t.restartPolicy.window),
      },
    },
    UpdateConfig: strategy(inputs.updateConfig, o.monitor, "updateConfig"),
    RollbackConfig: strategy(inputs.rollbackConfig, o.monitor, "rollbackConfig"),
    EndpointSpec: {
      Ports: [
        ...((inputs.endpointSpec?.ports ?? []) as Json[]).map((p) => ({
          Protocol: "tcp",
          TargetPort: p.targetPort,
          PublishedPort: p.publishedPort,
          PublishMode: p.publishMode,
        })),
        ...(o.hostPorts ?? []).map((port) => ({ Protocol: "tcp", TargetPort: port, PublishMode: "host" })),
      ],
    },
  };
}

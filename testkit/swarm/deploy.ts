/**
 * Puts the program's own Swarm objects, as registered under the mocks, on a private engine: its networks, secrets
 * and configs as they are, and its services through engineServiceSpec (only what the test says is replaced).
 * Shared by test/docker/swarm.test.ts and bench/swarm.ts.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { RESOURCE_TYPES as T } from "../../components/resourceTypes";
import { plain } from "../engineSpec";
import { ProgramRun, finder, runProgram } from "../mockProgram";
import { SWARM_NODES, swarmProdConfig, SWARM_TEST_SECRETS } from "./config";
import { PrivateEngine, SpecOverrides, engineServiceSpec } from "./engine";

/** The stack run of the swarm specs: its resources, outputs and a finder. */
export type SwarmRun = ProgramRun & ReturnType<typeof finder>;

/** The FROM scratch stand-ins built by test/support/images/build.sh (the tags of test/support's IMAGES). */
export const STANDIN_IMAGES = {
  ems: "ems-test/ems-server:1.2.1",
  emsNext: "ems-test/ems-server:1.2.2",
  emsHealth500: "ems-test/ems-server:9.0.1-500",
  sms: "ems-test/sms-server:1.1.0",
  smsNext: "ems-test/sms-server:1.1.1",
  smsHealth500: "ems-test/sms-server:9.0.1-500",
} as const;

/** build.sh (idempotent): the stand-ins on this machine's engine, ready to be loaded into a private one. */
function buildStandinImages(): void {
  const script = path.join(__dirname, "..", "..", "test", "support", "images", "build.sh");
  const r = spawnSync("bash", [script], { encoding: "utf8", timeout: 150_000 });
  if (r.status !== 0) throw new Error(`${script}: ${r.stderr}${r.stdout}`);
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Engine API shapes

/**
 * The swarm prod stack with the health gate at its shortest allowed start period (a real config value); `swarm`
 * adds keys to `ems-infra:swarm` (e.g. sharedStorage).
 */
export async function swarmSpecs(
  versions: { ems: string; sms: string },
  swarm: Record<string, unknown> = {},
): Promise<SwarmRun> {
  const health = { timeoutSeconds: 10 };
  const config = swarmProdConfig({
    "ems-infra:services": JSON.stringify({
      ems: { version: versions.ems, port: 8181, health },
      sms: { version: versions.sms, port: 8080, health },
    }),
    "ems-infra:swarm": JSON.stringify({ nodes: SWARM_NODES, ...swarm }),
  });
  const run = await runProgram("prod", config, Object.keys(SWARM_TEST_SECRETS));
  return { ...run, ...finder(run.resources) };
}

/** Test-only changes to the program's API specs, and why (the test files repeat them). */
const TEST_TIMINGS = {
  /** The config allows 60 s at least (the servers' 20 req/min); 6 s keeps a test in seconds, within the bucket. */
  healthInterval: "6s",
  /** The monitor window follows the interval (60 s in the program). */
  monitor: "5s",
  /** The client's pace: with the probes, under 20 requests a minute per task. */
  clientIntervalMs: 4000,
  /** Traefik's Swarm provider reads the tasks every 15 s by default. */
  refreshMs: 15_000,
};

export class SwarmDeployment {
  readonly ids: Record<string, string> = {};
  readonly serviceIds: Record<string, string> = {};
  readonly binds: Record<string, string> = {};

  constructor(
    readonly engine: PrivateEngine,
    readonly run: SwarmRun,
    /** Every node's engine (a task's container is on its node's engine); the manager alone by default. */
    readonly nodes: PrivateEngine[] = [engine],
  ) {}

  /** Builds the stand-in images on the main engine (idempotent) and loads them into the private one. */
  static loadImages(engine: PrivateEngine): void {
    buildStandinImages();
    engine.loadImages(Object.values(STANDIN_IMAGES));
  }

  /** Gives this engine's node the labels the program's pins use (label.sh does it on a real cluster). */
  static labelNode(engine: PrivateEngine, labels: Record<string, string>): void {
    const id = engine.docker(["info", "--format", "{{.Swarm.NodeID}}"]);
    engine.docker(["node", "update", ...Object.entries(labels).flatMap(([k, v]) => ["--label-add", `${k}=${v}`]), id]);
  }

  /** Creates the program's networks, secrets and configs (by their own names and contents). */
  async createObjects(): Promise<void> {
    for (const r of this.run.ofType(T.network)) {
      const n = plain<Json>(r.inputs);
      const created = await this.engine.api<{ Id: string }>("POST", "/networks/create", {
        Name: n.name,
        Driver: n.driver,
        Internal: n.internal ?? false,
        Attachable: n.attachable ?? false,
        Options: n.options ?? {},
      });
      this.ids[`${r.name}-id`] = created.Id;
    }
    for (const [type, kind] of [
      [T.secret, "secrets"],
      [T.serviceConfig, "configs"],
    ] as const) {
      for (const r of this.run.ofType(type)) {
        const s = plain<Json>(r.inputs);
        const labels = Object.fromEntries(((s.labels ?? []) as Json[]).map((l) => [l.label, l.value]));
        const created = await this.engine.api<{ ID: string }>("POST", `/${kind}/create`, {
          Name: s.name,
          Data: s.data,
          Labels: labels,
        });
        this.ids[`${r.name}-id`] = created.ID;
      }
    }
  }

  /**
   * The bind folders of the APIs, under `root`: every folder the program's HostLayouts make on the nodes (its
   * `swarm` output), as they exist on a node. A source Swarm expands per task (`…/{{.Task.Slot}}`) keeps its
   * template: the engine finds the expanded folder only if the program made it.
   */
  bindUnder(root: string): void {
    const nodes = (plain<Json>(this.run.outputs.swarm)?.nodes ?? []) as Json[];
    for (const folder of nodes.flatMap((n) => n.expectations.folders as { path: string }[]))
      fs.mkdirSync(path.join(root, folder.path), { recursive: true });
    for (const r of this.run.ofType(T.service)) {
      for (const m of (plain<Json>(r.inputs).taskSpec.containerSpec.mounts ?? []) as Json[]) {
        if (m.type !== "bind" || m.source.startsWith("/var/")) continue;
        const local = path.join(root, m.source);
        if (!m.source.includes("{{")) fs.mkdirSync(local, { recursive: true });
        this.binds[m.source] = local;
      }
    }
  }

  spec(run: SwarmRun, name: string, image: string, port: number): Json {
    const overrides: SpecOverrides = {
      image,
      ids: this.ids,
      binds: this.binds,
      healthInterval: TEST_TIMINGS.healthInterval,
      monitor: TEST_TIMINGS.monitor,
      hostPorts: [port],
    };
    return engineServiceSpec(plain<Json>(run.get(T.service, name).inputs), overrides);
  }

  async createService(name: string, image: string, port: number): Promise<void> {
    const created = await this.engine.api<{ ID: string }>(
      "POST",
      "/services/create",
      this.spec(this.run, name, image, port),
    );
    this.serviceIds[name] = created.ID;
  }

  /** What the provider does on an update: the new spec, at the service's current version. */
  async updateService(run: SwarmRun, name: string, image: string, port: number): Promise<void> {
    const id = this.serviceIds[name];
    const current = await this.engine.api<Json>("GET", `/services/${id}`);
    await this.engine.api(
      "POST",
      `/services/${id}/update?version=${current.Version.Index}`,
      this.spec(run, name, image, port),
    );
  }

  /** A task's container, on whichever node's engine runs it. */
  async container(id: string): Promise<Json> {
    for (const node of this.nodes) {
      const found = await node.api<Json>("GET", `/containers/${id}/json`).catch(() => undefined);
      if (found) return found;
    }
    throw new Error(`container ${id} is on none of the nodes`);
  }

  async service(name: string): Promise<Json> {
    return this.engine.api<Json>("GET", `/services/${this.serviceIds[name]}`);
  }

  async tasks(name: string): Promise<Json[]> {
    const filters = encodeURIComponent(JSON.stringify({ service: [this.serviceIds[name]] }));
    return this.engine.api<Json[]>("GET", `/tasks?filters=${filters}`);
  }

  /** The running tasks' containers with their image and health, once `count` run and are healthy (or throws). */
  async waitRunning(name: string, count: number, image: string, timeoutMs: number): Promise<Json[]> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const running = (await this.tasks(name)).filter(
        (t) => t.Status.State === "running" && t.DesiredState === "running",
      );
      const states = await Promise.all(
        running.map(async (t) => {
          const c = await this.container(t.Status.ContainerStatus.ContainerID as string);
          return {
            image: t.Spec.ContainerSpec.Image as string,
            health: c.State.Health?.Status as string,
            container: c,
          };
        }),
      );
      last = JSON.stringify(states.map((s) => [s.image, s.health]));
      if (states.length === count && states.every((s) => s.image === image && s.health === "healthy"))
        return states.map((s) => s.container);
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${name}: not ${count} healthy tasks of ${image} in ${timeoutMs} ms; last ${last}`);
  }

  /** Waits for the service's update to end in one of `states` (completed, rollback_completed, paused...). */
  async waitUpdate(name: string, states: string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let state = "";
    while (Date.now() < deadline) {
      state = (await this.service(name)).UpdateStatus?.State ?? "";
      if (states.includes(state)) return state;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${name}: update state ${state || "(none)"} after ${timeoutMs} ms, wanted ${states.join("|")}`);
  }
}

export interface ClientResult {
  requests: number;
  ok: number;
  limited: number;
  failed: number;
  retried: number;
  versions: Record<string, number>;
  failures: string[];
}

/** Starts testkit/swarm/client.ts inside the engine's namespace; `stop()` ends it and returns its counts. */
export function startClient(
  engine: PrivateEngine,
  service: string,
  port: number,
  key: string,
  intervalMs = TEST_TIMINGS.clientIntervalMs,
): { stop: () => Promise<ClientResult> } {
  const stopFile = path.join(engine.dir, `stop-${service}-${Date.now()}`);
  const root = path.join(__dirname, "..", "..");
  const argv = engine.inNamespace([
    process.execPath,
    path.join(root, "node_modules", "tsx", "dist", "cli.mjs"),
    path.join(__dirname, "client.ts"),
    ...["--socket", engine.socket, "--service", service, "--port", String(port), "--key", key],
    ...["--stop-file", stopFile, "--interval-ms", String(intervalMs)],
    ...["--refresh-ms", String(TEST_TIMINGS.refreshMs)],
  ]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (err += c));
  const done = new Promise<ClientResult>((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim()) as ClientResult) : reject(new Error(`client exited ${code}: ${err}`)),
    ),
  );
  return {
    stop: () => {
      fs.writeFileSync(stopFile, "");
      return done;
    },
  };
}

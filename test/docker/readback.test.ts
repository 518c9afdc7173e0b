/**
 * Zero diff on a second `pulumi up`, on real engines: each container of both stacks is created from the
 * program's own spec the way the Docker provider creates it (testkit/readbackEngine.ts: Engine API, same requests),
 * then `docker inspect` is mapped back the way the provider's Read maps it, and every read-back input must
 * equal what the spec sets, except what the container's `ignoreChanges` covers. Run on the main dockerd and on
 * a private dockerd whose daemon.json sets default log-opts (M3). Images are local stand-ins (build.sh); names,
 * networks, volumes, bind folders and published host ports are this run's own. The APIs are the stand-ins that log
 * into PostgreSQL at start and exit 1 when refused (real-system.md §6): as in an `up`, the Postgres container and
 * its databases command come first, and every API must hold its session, i.e. be read back running, not crash-looping.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
  buildTestImages,
  ContainerInputs,
  createLikeProvider,
  describeWithDocker,
  docker,
  ignores,
  IMAGES,
  InspectedContainer,
  localSpec,
  plain,
  PortInput,
  readBackDiff,
  readBackLikeProvider,
  ReadBackDifference,
  RecordedResource,
  run,
  socketEngine as engine,
  StackRun,
  T,
  waitForPostgresOverTcp,
} from "../support";
import { runCommitted } from "../providers/stacks";
import { readEngine } from "../../ops/engineFacts";
import { boundShell } from "../../ops/runner/hostShell";

const MAIN_SOCKET = (process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock").replace(/^unix:\/\//, "");

/** An image that runs whatever its command: a shell entrypoint ignoring its arguments (Traefik, Portainer stand-in). */
const IDLE_IMAGE = "ems-test/readback-idle:1";

/** Builds IDLE_IMAGE from the static busybox (docker import of a one-file root), unless it exists. */
function buildIdleImage(): void {
  if (run("docker", ["image", "inspect", IDLE_IMAGE]).status === 0) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-idle-"));
  try {
    fs.mkdirSync(path.join(root, "bin"));
    fs.copyFileSync("/bin/busybox", path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    const tar = run("tar", ["-C", root, "-cf", path.join(root, "..", path.basename(root) + ".tar"), "."]);
    if (tar.status !== 0) throw new Error(tar.stderr);
    docker([
      "import",
      "--change",
      'ENTRYPOINT ["/bin/busybox", "sh", "-c", "exec /bin/busybox sleep 3600", "idle"]',
      path.join(root, "..", path.basename(root) + ".tar"),
      IDLE_IMAGE,
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.join(root, "..", path.basename(root) + ".tar"), { force: true });
  }
}

/** The API service a container runs, if it is an API's. */
const serviceOf = (container: RecordedResource, stackRun: StackRun) =>
  stackRun.config.services.find((s) => s.name === container.name);

/**
 * The local image standing in for a container's real one: the service's stand-in (the one that logs into PostgreSQL
 * unless `logIn` is false), the test Postgres, or the idle one.
 */
function standIn(container: RecordedResource, stackRun: StackRun, logIn = true): string {
  const service = serviceOf(container, stackRun);
  if (service) {
    const tag = `ems-test/${service.name}-server${logIn ? "-pg" : ""}:${service.version}`;
    if (run("docker", ["image", "inspect", tag]).status === 0) return tag;
    if (logIn) return service.name === "sms" ? IMAGES.smsPg : IMAGES.emsPg;
    return service.name === "sms" ? IMAGES.sms : IMAGES.ems;
  }
  if (container.name === "postgres") return IMAGES.postgres;
  return IDLE_IMAGE;
}

/** `docker ARGS` against the engine at `socket`; must succeed. */
function dockerAt(socket: string, args: string[], input = ""): string {
  const r = spawnSync("docker", ["-H", `unix://${socket}`, ...args], { input, encoding: "utf8", timeout: 90_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}${r.error?.message ?? ""}`);
  return r.stdout.trim();
}

/**
 * What an `up` does between the Postgres container and the APIs, on this run's copy: the container also answers to
 * the program's name on its network (the APIs' DB_HOST; this run's container has another name), it accepts TCP,
 * and the stack's databases command has made the roles, databases and passwords.
 */
async function prepareDatabases(stackRun: StackRun, socket: string, name: string, network: string): Promise<void> {
  const spec = plain<{ name: string; networksAdvanced: { aliases?: string[] }[] }>(
    stackRun.get(T.container, "postgres").inputs,
  );
  dockerAt(socket, ["network", "disconnect", network, name]);
  const aliases = [...(spec.networksAdvanced[0].aliases ?? []), spec.name];
  dockerAt(socket, ["network", "connect", ...aliases.flatMap((a) => ["--alias", a]), network, name]);
  await waitForPostgresOverTcp(name, { socket });
  const cmd = plain<{ create: string; stdin: string }>(stackRun.get(T.localCommand, "postgres-databases").inputs);
  if (cmd.create !== `docker exec -i ${spec.name} sh -s`) throw new Error(`databases command: ${cmd.create}`);
  dockerAt(socket, ["exec", "-i", name, "sh", "-s"], cmd.stdin);
}

/** Waits (bounded) until each API role holds a session; returns the roles that do. */
async function rolesLoggedIn(socket: string, postgres: string, user: string, roles: string[]): Promise<string[]> {
  const query = `SELECT DISTINCT usename FROM pg_stat_activity WHERE usename IN (${roles.map((r) => `'${r}'`).join(", ")})`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = dockerAt(socket, ["exec", "-i", postgres, "psql", "-X", "-At", "-U", user, "-d", "postgres"], query)
      .split("\n")
      .filter(Boolean)
      .sort();
    if (found.length === roles.length || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A free TCP port on the loopback (for Traefik's 80/443). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

interface Outcome {
  container: string;
  startError: string;
  differences: ReadBackDifference[];
}

interface StackOutcome {
  outcomes: Outcome[];
  /** The API roles expected to log in, and those holding a session after every container was created. */
  roles: { expected: string[]; loggedIn: string[] };
}

/** Creates every container of a stack on the engine at `socket`, reads each back and returns the differences. */
async function readBackStack(
  stackRun: StackRun,
  socket: string,
  tag: string,
  opts: { cleanup: (() => Promise<void>)[]; logIn?: boolean },
): Promise<StackOutcome> {
  const logIn = opts.logIn ?? true;
  const suffix = `-rb${tag}${process.pid}`;
  const binds = fs.mkdtempSync(path.join(os.tmpdir(), `ems-readback-${tag}-`));
  opts.cleanup.push(async () => fs.rmSync(binds, { recursive: true, force: true }));
  const networks = new Map<string, string>();
  const network = (name: string) => networks.get(name) ?? `${name}${suffix}`;
  for (const n of stackRun.ofType(T.network)) {
    const spec = plain<{ name: string; driver?: string; internal?: boolean }>(n.inputs);
    const name = `${spec.name}${suffix}`;
    networks.set(spec.name, name);
    const r = await engine(socket, "POST", "/networks/create", {
      Name: name,
      Driver: spec.driver ?? "bridge",
      Internal: !!spec.internal,
      CheckDuplicate: true,
    });
    if (r.status !== 201) throw new Error(`network ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    opts.cleanup.push(async () => void (await engine(socket, "DELETE", `/networks/${name}`)));
  }
  // A network the containers join but the stack does not create (prod's proxy network, `externalNetwork`) exists
  // on the host already: this run's copy is made here.
  const joined = stackRun
    .ofType(T.container)
    .flatMap((c) => plain<{ name: string }[] | undefined>(c.inputs.networksAdvanced) ?? [])
    .map((n) => n.name);
  for (const external of new Set(joined.filter((n) => !networks.has(n)))) {
    const name = `${external}${suffix}`;
    networks.set(external, name);
    const r = await engine(socket, "POST", "/networks/create", { Name: name, Driver: "bridge", CheckDuplicate: true });
    if (r.status !== 201) throw new Error(`network ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    opts.cleanup.push(async () => void (await engine(socket, "DELETE", `/networks/${name}`)));
  }
  const volume = (name: string) => `${name}${suffix}`;
  for (const v of stackRun.ofType(T.volume)) {
    const name = volume(String(plain<{ name: string }>(v.inputs).name));
    await engine(socket, "POST", "/volumes/create", { Name: name });
    opts.cleanup.push(async () => void (await engine(socket, "DELETE", `/volumes/${name}?force=true`)));
  }
  const ports = new Map<number, number>();
  for (const c of stackRun.ofType(T.container))
    for (const p of plain<PortInput[] | undefined>(c.inputs.ports) ?? [])
      if (p.external !== undefined && !ports.has(p.external)) ports.set(p.external, await freePort());

  const outcomes: Outcome[] = [];
  // As in an up: every other container first (Postgres among them), then the databases command, then the APIs.
  const containers = stackRun.ofType(T.container);
  const apis = containers.filter((c) => serviceOf(c, stackRun));
  const ordered = [...containers.filter((c) => !serviceOf(c, stackRun)), ...apis];
  let postgres = "";
  for (const c of ordered) {
    if (c === apis[0] && postgres && logIn) {
      const dbNetwork = plain<{ name: string }[]>(stackRun.get(T.container, "postgres").inputs.networksAdvanced)[0];
      await prepareDatabases(stackRun, socket, postgres, network(dbNetwork.name));
    }
    const name = `${plain(c.inputs.name) ?? c.name}${suffix}`;
    const bind = (source: string) => {
      // The Docker socket is mounted as it is (Traefik, Portainer read it); other sources live under this run's folder.
      if (source === "/var/run/docker.sock") return socket;
      const dir = path.join(binds, source);
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    };
    const createOptions = {
      socket,
      name,
      image: standIn(c, stackRun, logIn),
      network,
      volume,
      bind,
      hostPort: (p: number) => ports.get(p) ?? p,
    };
    opts.cleanup.push(
      async () => void (await engine(socket, "DELETE", `/containers/${encodeURIComponent(name)}?force=true&v=true`)),
    );
    const created = await createLikeProvider(c.inputs, createOptions);
    const inspected = (await engine<InspectedContainer>(socket, "GET", `/containers/${created.id}/json`)).body;
    const spec = localSpec(c.inputs, createOptions);
    const read = readBackLikeProvider(inspected, spec);
    const ignore = (c.opts as { ignoreChanges?: string[] }).ignoreChanges;
    let differences = readBackDiff(spec, read).filter((d) => !ignores(ignore, d.input));
    // Ports are read only from a running container: a stand-in that cannot run the spec's command has none.
    if (created.startError || !inspected.State.Running) differences = differences.filter((d) => d.input !== "ports");
    outcomes.push({ container: c.name, startError: created.startError, differences });
    if (c.name === "postgres") postgres = name;
  }
  const expected = apis.map((c) => serviceOf(c, stackRun)!.role).sort();
  const superuser = () =>
    (
      plain<string[]>(stackRun.get(T.container, "postgres").inputs.envs).find((e) => e.startsWith("POSTGRES_USER=")) ??
      ""
    ).split("=")[1];
  if (!logIn) return { outcomes, roles: { expected: [], loggedIn: [] } };
  const loggedIn = postgres && expected.length ? await rolesLoggedIn(socket, postgres, superuser(), expected) : [];
  // On a failure, what the APIs said (the server's refusal) goes into the comparison's output.
  if (loggedIn.length !== expected.length)
    for (const c of apis) {
      const name = `${plain(c.inputs.name) ?? c.name}${suffix}`;
      const at = ["-H", `unix://${socket}`];
      const state = spawnSync("docker", [...at, "inspect", "-f", "{{json .State}} restarts {{.RestartCount}}", name], {
        encoding: "utf8",
      });
      const r = spawnSync("docker", [...at, "logs", "--tail", "3", name], { encoding: "utf8" });
      loggedIn.push(`${name}: ${state.stdout.trim()} ${r.stdout}${r.stderr}`.trim());
    }
  return { outcomes, roles: { expected, loggedIn } };
}

async function runCleanup(list: (() => Promise<void>)[]): Promise<void> {
  for (const step of list.reverse()) await step().catch(() => undefined);
  list.length = 0;
}

const stacks: Record<string, StackRun> = {};

/**
 * Both stacks as a deploy to this machine's engine registers them: with the engine facts the release pre-flight
 * reads here and writes to `ems-infra:engine` (below API 1.44 no startInterval, which this harness's raw Engine API
 * create would otherwise send and the engine drop; the provider's client refuses it there).
 */
async function loadStacks(): Promise<void> {
  const { apiVersion, swapLimit } = await readEngine(boundShell("local"));
  const engine = { "ems-infra:engine": JSON.stringify({ apiVersion, swapLimit }) };
  for (const stack of ["dev", "prod"]) stacks[stack] ??= await runCommitted(stack, engine);
}

describeWithDocker("read-back of every container on the main dockerd (provider-facts §1 b)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  const outcomes: Record<string, Outcome[]> = {};
  const roles: Record<string, StackOutcome["roles"]> = {};

  beforeAll(async () => {
    buildTestImages();
    buildIdleImage();
    await loadStacks();
    for (const stack of ["dev", "prod"])
      ({ outcomes: outcomes[stack], roles: roles[stack] } = await readBackStack(stacks[stack], MAIN_SOCKET, stack, {
        cleanup,
      }));
  }, 240_000);
  afterAll(() => runCleanup(cleanup), 120_000);

  test.each(["dev", "prod"])(
    "%s: every container reads back exactly as specified (no perma-diff on the next up)",
    (stack) => {
      expect(outcomes[stack].length).toBeGreaterThanOrEqual(3);
      expect(outcomes[stack].map((o) => ({ container: o.container, differences: o.differences }))).toEqual(
        outcomes[stack].map((o) => ({ container: o.container, differences: [] })),
      );
    },
  );

  test.each(["dev", "prod"])("%s: every API logged into the stack's Postgres with its role", (stack) => {
    expect(roles[stack].expected).toEqual(["ems_user", "sms_user"]);
    expect(roles[stack].loggedIn).toEqual(roles[stack].expected);
  });

  test("the comparison catches what the provider would: memory without memorySwap and a 60s interval read back differently", async () => {
    const base = stacks.dev.get(T.container, "postgres");
    const inputs: ContainerInputs = {
      ...plain<ContainerInputs>(base.inputs),
      memorySwap: undefined,
      healthcheck: { tests: ["CMD-SHELL", "true"], interval: "60s", timeout: "5s", retries: 3, startPeriod: "30s" },
    };
    const spec = { ...base, inputs, opts: {} } as RecordedResource;
    const probe = {
      ...stacks.dev,
      ofType: (t: string) => (t === T.container ? [spec] : stacks.dev.ofType(t)),
    } as StackRun;
    const {
      outcomes: [outcome],
    } = await readBackStack(probe, MAIN_SOCKET, "probe", { cleanup });
    const byInput = Object.fromEntries(outcome.differences.map((d) => [d.input, d]));
    expect(byInput.memorySwap?.read).toBe(2 * Number(inputs.memory));
    expect(byInput["healthcheck.interval"]).toEqual({ input: "healthcheck.interval", spec: "60s", read: "1m0s" });
    expect(Object.keys(byInput).sort()).toEqual(["healthcheck.interval", "memorySwap"]);
  }, 120_000);

  test("engine facts of a host without swap accounting (memorySwap -1) and API 1.41 (no startInterval) read back as set", async () => {
    const oldEngine = await runCommitted("dev", {
      "ems-infra:engine": JSON.stringify({ apiVersion: "1.41", swapLimit: false }),
    });
    const { outcomes, roles } = await readBackStack(oldEngine, MAIN_SOCKET, "oldeng", { cleanup });
    expect(oldEngine.ofType(T.container).every((c) => c.inputs.memorySwap === -1)).toBe(true);
    expect(roles.loggedIn).toEqual(roles.expected);
    expect(outcomes.map((o) => ({ container: o.container, differences: o.differences }))).toEqual(
      outcomes.map((o) => ({ container: o.container, differences: [] })),
    );
  }, 180_000);
});

/**
 * A second dockerd of our own (provider-facts Appendix exp. 3): own data-root, exec-root, socket, pidfile and
 * containerd namespace, no iptables. Not `--bridge=none`: a daemon started with it deletes the host's `docker0`
 * (moby removeDefaultBridgeInterface), which breaks the main dockerd's default network. It gets a bridge
 * interface of its own instead, removed at the end.
 */
class PrivateDockerd {
  dir = "";
  socket = "";
  readonly bridge = `emsrb${process.pid % 100000}`;
  private pid = 0;

  async start(daemonJson: Record<string, unknown>): Promise<void> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-dockerd-"));
    this.socket = path.join(this.dir, "docker.sock");
    fs.writeFileSync(path.join(this.dir, "daemon.json"), JSON.stringify(daemonJson));
    for (const args of [
      ["link", "add", this.bridge, "type", "bridge"],
      ["addr", "add", "172.31.254.1/24", "dev", this.bridge],
      ["link", "set", this.bridge, "up"],
    ]) {
      const r = run("ip", args);
      if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
    }
    const log = fs.openSync(path.join(this.dir, "dockerd.log"), "a");
    const child = spawn(
      "dockerd",
      [
        "--config-file",
        path.join(this.dir, "daemon.json"),
        "--data-root",
        path.join(this.dir, "data"),
        "--exec-root",
        path.join(this.dir, "exec"),
        "--pidfile",
        path.join(this.dir, "docker.pid"),
        "-H",
        `unix://${this.socket}`,
        "--containerd-namespace",
        `ems-readback-${process.pid}`,
        "--containerd-plugins-namespace",
        `ems-readback-plugins-${process.pid}`,
        `--bridge=${this.bridge}`,
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
      ],
      { detached: true, stdio: ["ignore", log, log] },
    );
    this.pid = child.pid ?? 0;
    child.unref();
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (
        fs.existsSync(this.socket) &&
        (await engine(this.socket, "GET", "/_ping", undefined, undefined, 2000).catch(() => ({ status: 0 }))).status ===
          200
      )
        return;
      if (Date.now() > deadline || (this.pid && !alive(this.pid)))
        throw new Error(
          `private dockerd did not start:\n${fs.readFileSync(path.join(this.dir, "dockerd.log"), "utf8").slice(-3000)}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** `docker save | docker -H <private> load` of the images the stacks use. */
  load(images: string[]): void {
    const tar = path.join(this.dir, "images.tar");
    docker(["save", "-o", tar, ...images], { timeoutMs: 120_000 });
    const r = run("docker", ["-H", `unix://${this.socket}`, "load", "-i", tar], { timeoutMs: 120_000 });
    fs.rmSync(tar, { force: true });
    if (r.status !== 0) throw new Error(`loading images into the private dockerd: ${r.stderr}`);
  }

  async stop(): Promise<void> {
    if (!this.dir) return;
    if (this.pid && alive(this.pid)) {
      process.kill(this.pid, "SIGTERM");
      const deadline = Date.now() + 30_000;
      while (alive(this.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      if (alive(this.pid)) process.kill(this.pid, "SIGKILL");
    }
    run("ip", ["link", "delete", this.bridge]);
    run("umount", ["-R", path.join(this.dir, "data")]);
    run("umount", ["-R", path.join(this.dir, "exec")]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A private dockerd needs root; outside CI a non-root run skips it with the reason (in CI it fails). */
const canRunPrivateDaemon = typeof process.getuid !== "function" || process.getuid() === 0 || process.env.CI === "true";
if (!canRunPrivateDaemon) console.warn("SKIPPED the private-dockerd read-back: starting a dockerd needs root.");

/*
 * This daemon runs without iptables (it must not touch the host's rules), hence without Docker's embedded DNS: an
 * API could not resolve its DB_HOST here, so this run keeps the stand-ins that do not log in.
 */
(canRunPrivateDaemon ? describeWithDocker : describe.skip)(
  "read-back on a private dockerd whose daemon.json sets default log-opts (M3)",
  () => {
    const daemon = new PrivateDockerd();
    const cleanup: (() => Promise<void>)[] = [];
    const outcomes: Record<string, Outcome[]> = {};
    let logConfig: InspectedContainer["HostConfig"]["LogConfig"];

    beforeAll(async () => {
      if (typeof process.getuid === "function" && process.getuid() !== 0)
        throw new Error("a private dockerd needs root");
      buildTestImages();
      buildIdleImage();
      await loadStacks();
      await daemon.start({ "log-driver": "json-file", "log-opts": { "max-size": "50m", compress: "true" } });
      const images = new Set<string>();
      for (const stack of ["dev", "prod"])
        for (const c of stacks[stack].ofType(T.container)) images.add(standIn(c, stacks[stack], false));
      daemon.load([...images]);
      for (const stack of ["dev", "prod"])
        ({ outcomes: outcomes[stack] } = await readBackStack(stacks[stack], daemon.socket, `p${stack}`, {
          cleanup,
          logIn: false,
        }));
      const anyContainer = (await engine<{ Id: string }[]>(daemon.socket, "GET", "/containers/json?all=true")).body[0];
      logConfig = (await engine<InspectedContainer>(daemon.socket, "GET", `/containers/${anyContainer.Id}/json`)).body
        .HostConfig.LogConfig;
    }, 300_000);
    afterAll(async () => {
      await runCleanup(cleanup);
      await daemon.stop();
    }, 120_000);

    test("the daemon merges its default keys into a container's log options (what Read stores)", () => {
      expect(logConfig?.Config).toMatchObject({ compress: "true" });
    });

    test.each(["dev", "prod"])("%s: no container reads back differently, the merged log-opts included", (stack) => {
      expect(outcomes[stack].length).toBeGreaterThanOrEqual(3);
      expect(outcomes[stack].map((o) => ({ container: o.container, differences: o.differences }))).toEqual(
        outcomes[stack].map((o) => ({ container: o.container, differences: [] })),
      );
    });
  },
);

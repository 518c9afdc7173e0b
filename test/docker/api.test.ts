/**
 * The EMS/SMS API containers exactly as the program specifies them (entrypoint ems-run, exec-form
 * healthcheck, uploads of ems-run and secrets.env, envs, labels, bind mounts, networks, memory, security,
 * log rotation, restart), created through the Docker Engine API in the provider's order on a real dockerd.
 * Only the image is replaced, by the FROM scratch stand-ins of the real servers that log into PostgreSQL at start
 * and exit 1 when refused (the `-pg` images, test/docker/standin-in-motion.test.ts), and the healthcheck interval is
 * shortened (the first probe on Docker < 25 comes one interval after start). They log into the program's own
 * Postgres container on the program's internal network, with the roles and passwords its databases command set
 * (test/support/programPostgres.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { reportUnhealthy } from "../../ops/containers";
import { defaultHostShell } from "../../ops/runner/hostShell";
import {
  buildTestImages,
  committedConfig,
  ContainerInputs,
  containerIp,
  describeWithDocker,
  DockerScratch,
  engineCreateBody,
  HealthState,
  httpTo,
  docker,
  IMAGES,
  inspect,
  nanoseconds,
  ProgramPostgres,
  run,
  startProgramPostgres,
  waitForHealth,
} from "../support";
import { devSpecs, envs, labels } from "./specs";

/** The shortest health gate config accepts: a failing version is given up after 10 s. */
const WAIT_TIMEOUT_S = 10;
/** Test-only probe interval: 15 probes a minute stay inside the servers' 20 req/min with room for the tests' own. */
const TEST_INTERVAL = "4s";

type Svc = "ems" | "sms";

/** The committed dev config with the short health gate, and optionally other versions or service secrets. */
function configOverrides(
  versions: Partial<Record<Svc, string>> = {},
  serviceSecrets?: Record<string, Record<string, string>>,
): Record<string, string> {
  const services = JSON.parse(committedConfig("dev")["ems-infra:services"]);
  for (const svc of Object.keys(services)) {
    services[svc] = {
      ...services[svc],
      health: {
        ...(services[svc].health ?? {}),
        timeoutSeconds: WAIT_TIMEOUT_S,
      },
    };
    if (versions[svc as Svc]) services[svc].version = versions[svc as Svc];
  }
  return {
    "ems-infra:services": JSON.stringify(services),
    ...(serviceSecrets ? { "ems-infra:serviceSecrets": JSON.stringify(serviceSecrets) } : {}),
  };
}

/** The spec with another DB_PASS in its secrets.env upload (what a container left with a stale password runs). */
function withDbPassword(spec: ContainerInputs, password: string): ContainerInputs {
  return {
    ...spec,
    uploads: (spec.uploads ?? []).map((u) =>
      u.file === "/run/ems/secrets.env" && u.content
        ? { ...u, content: u.content.replace(/^DB_PASS=.*$/m, `DB_PASS=${password}`) }
        : u,
    ),
  };
}

/** The credentials the program put in the secrets.env upload. */
function secretsOf(spec: ContainerInputs): Record<string, string> {
  const upload = (spec.uploads ?? []).find((u) => u.file === "/run/ems/secrets.env");
  if (!upload?.content) throw new Error("the spec uploads no /run/ems/secrets.env");
  return Object.fromEntries(
    upload.content
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** The spec's healthcheck, which an API spec always sets in full. */
function healthcheckOf(spec: ContainerInputs): {
  tests: string[];
  timeout: string;
  startPeriod: string;
  retries: number;
} {
  const h = spec.healthcheck;
  if (!h?.tests || h.timeout === undefined || h.startPeriod === undefined || h.retries === undefined)
    throw new Error(`${spec.name}: the spec sets no complete healthcheck (${JSON.stringify(h)})`);
  return { tests: h.tests, timeout: h.timeout, startPeriod: h.startPeriod, retries: h.retries };
}

function loadbalancerPort(spec: ContainerInputs): number {
  const label = Object.entries(labels(spec)).find(([k]) =>
    /^traefik\.http\.services\..*\.loadbalancer\.server\.port$/.test(k),
  );
  if (!label) throw new Error("no loadbalancer port label");
  return Number(label[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const healthOf = (name: string): string => inspect(name).State.Health?.Status ?? "none";

/**
 * Waits (bounded) until a container has exited `times` times (its restart count, plus one while it is down), and
 * returns the exit code it shows while down: between two runs it is `restarting` with the last run's code; caught
 * during a run, Docker shows 0.
 */
async function exitedAtLeast(name: string, times: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { State: state, RestartCount: restarts } = inspect(name);
    const down = !state.Running || state.Restarting;
    if ((restarts as number) + (down ? 1 : 0) >= times && down) return state.ExitCode as number;
    if (Date.now() > deadline) throw new Error(`${name} did not exit ${times} times in ${timeoutMs} ms`);
    await sleep(100);
  }
}

describeWithDocker("API containers on a real Docker engine, created like the provider does", () => {
  const scratch = new DockerScratch("api");
  let specs: Record<Svc, ContainerInputs>;
  /** The SMS spec the program registers after `deploy --service sms --version 1.1.1`. */
  let smsNext: ContainerInputs;
  let dev: Awaited<ReturnType<typeof devSpecs>>;
  let pg: ProgramPostgres;
  const containers: Record<Svc, string> = { ems: "", sms: "" };
  const networks = { proxy: "", db: "" };
  let bindRoot = "";

  const create = (svc: Svc, image: string, label: string, from = specs[svc]) => {
    const spec = {
      ...from,
      healthcheck: { ...from.healthcheck, interval: TEST_INTERVAL },
    };
    return scratch.create(spec, image, {
      name: `${svc}-${label}-t${scratch.id}`,
      bindRoot,
    });
  };

  beforeAll(async () => {
    buildTestImages();
    dev = await devSpecs(configOverrides());
    specs = { ems: dev.container("ems"), sms: dev.container("sms") };
    smsNext = (await devSpecs(configOverrides({ sms: "1.1.1" }))).container("sms");
    const [proxy, db] = (specs.ems.networksAdvanced as { name: string }[]).map((n) => n.name);
    networks.proxy = scratch.network(dev.networkNamed(proxy));
    networks.db = scratch.network(dev.networkNamed(db));
    bindRoot = scratch.dir("api-binds");
    pg = await startProgramPostgres(scratch, dev.run);
    pg.ensureDatabases(dev.run);
    containers.ems = await create("ems", IMAGES.emsPg, "a");
    containers.sms = await create("sms", IMAGES.smsPg, "a");
  }, 180_000);

  afterAll(() => scratch.cleanup(), 90_000);

  test("the spec translates fully into an Engine API create (only the image is replaced)", () => {
    const body = engineCreateBody(specs.ems, IMAGES.emsPg);
    expect(body.Image).toBe(IMAGES.emsPg);
    expect(body.Entrypoint).toEqual(["/run/ems/ems-run"]);
    expect(body.Cmd).toEqual(["/app/bin/server"]);
    expect(body.Healthcheck?.Test).toEqual([
      "CMD",
      "/run/ems/ems-run",
      "--probe",
      String(loadbalancerPort(specs.ems)),
      "/api/v1/health",
      // A 429 from the servers' shared 20 req/min limit still proves the server answers (components/probe).
      "--accept-rate-limited",
    ]);
    expect(JSON.stringify(body)).not.toContain(specs.ems.image);
    expect(() => engineCreateBody({ ...specs.ems, privileged: true }, IMAGES.emsPg)).toThrow(
      '"privileged" is not translated',
    );
  });

  test("the probe port is the port Traefik uses and the one the server listens on (EMS 8181, SMS 8080)", () => {
    for (const [svc, port] of [
      ["ems", 8181],
      ["sms", 8080],
    ] as [Svc, number][]) {
      expect({
        svc,
        label: loadbalancerPort(specs[svc]),
        probe: Number(healthcheckOf(specs[svc]).tests[3]),
      }).toEqual({ svc, label: port, probe: port });
    }
  });

  test("both APIs become healthy through ems-run --probe, which sends the key", async () => {
    const timeout = (WAIT_TIMEOUT_S + (2 * nanoseconds(TEST_INTERVAL)) / 1e9) * 1000;
    const states = await Promise.all([
      waitForHealth(containers.ems, "healthy", timeout),
      waitForHealth(containers.sms, "healthy", timeout),
    ]);
    for (const [svc, health] of [
      ["ems", states[0]],
      ["sms", states[1]],
    ] as [Svc, HealthState][]) {
      const spec = specs[svc];
      const healthcheck = healthcheckOf(spec);
      expect(health.Log.at(-1)?.ExitCode).toBe(0);
      expect(health.Log.at(-1)?.Output).toContain(`/api/v1/health -> 200`);
      const info = inspect(containers[svc]);
      expect(info.Config.Healthcheck).toEqual(
        expect.objectContaining({
          Test: healthcheck.tests,
          Timeout: nanoseconds(healthcheck.timeout),
          StartPeriod: nanoseconds(healthcheck.startPeriod),
          Retries: healthcheck.retries,
        }),
      );
      expect(info.Config.Entrypoint).toEqual(spec.entrypoints);
      expect(info.Config.Cmd).toEqual(spec.command);
      // ems-run exec'd the server: it is PID 1 of the container, not a child of ems-run.
      expect(fs.readlinkSync(`/proc/${info.State.Pid}/exe`)).toMatch(/\/app\/bin\/server$/);
    }
  }, 60_000);

  test("each API logged into the program's Postgres at start as its own role on its own database, and keeps the session", () => {
    for (const svc of ["ems", "sms"] as Svc[]) {
      const { DB_USER, DB_NAME } = envs(specs[svc]);
      expect({ svc, sessions: pg.sessionAddresses(DB_USER, DB_NAME) }).toEqual({
        svc,
        sessions: [containerIp(containers[svc], networks.db)],
      });
      expect(pg.psql("SELECT tableowner FROM pg_tables WHERE tablename = '__schema'", DB_NAME)).toBe(DB_USER);
    }
    expect(envs(specs.ems).DB_USER).not.toBe(envs(specs.sms).DB_USER);
  });

  test("an API whose DB password the server refuses exits 1 at start, crash-loops, never turns healthy, and the failed-deploy report names it", async () => {
    const role = envs(specs.ems).DB_USER;
    const refused = await create("ems", IMAGES.emsPg, "badpw", withDbPassword(specs.ems, "not-the-ems-db-password-0"));
    expect(await exitedAtLeast(refused, 2)).toBe(1);
    expect(healthOf(refused)).not.toBe("healthy");
    const own = labels(specs.ems);
    const report = await reportUnhealthy(
      defaultHostShell,
      "local",
      { system: own["com.ems.system"], environment: own["com.ems.environment"] },
      {},
    );
    // Other suites' containers may carry the dev labels too: only this run's are judged. Between two runs the
    // container is restarting with exit code 1; caught in a run, Docker shows 0 and "starting": either way the report
    // names the crash loop and the crash's exit code.
    expect(report).toMatch(
      new RegExp(
        `--- ${refused} \\(ems\\): (restarting|running), [a-z]+, crash loop \\(restarts [1-9]\\d*, last exit code 1\\); last 20 log lines:\\n`,
      ),
    );
    const section = report.slice(report.indexOf(`--- ${refused} `)).split("\n--- ")[0];
    expect(section).toContain(`password authentication failed for user "${role}"`);
    expect(report).not.toContain(`--- ${containers.ems} `);
    expect(report).not.toContain(`--- ${containers.sms} `);
    scratch.remove(refused, 1);
  }, 60_000);

  test("it runs with no-new-privileges, memory without swap, json-file rotation and the program's labels, env, mounts, networks", () => {
    for (const svc of ["ems", "sms"] as Svc[]) {
      const spec = specs[svc];
      const info = inspect(containers[svc]);
      expect(info.HostConfig.SecurityOpt).toEqual(spec.securityOpts);
      expect(info.HostConfig.Memory).toBe(Number(spec.memory) * 1024 * 1024);
      expect(info.HostConfig.MemorySwap).toBe(Number(spec.memorySwap) * 1024 * 1024);
      expect(info.HostConfig.LogConfig).toEqual({
        Type: "json-file",
        Config: { "max-size": "10m", "max-file": "3" },
      });
      expect(info.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
      expect(info.HostConfig.PortBindings ?? {}).toEqual({});
      const own = Object.fromEntries(Object.entries(info.Config.Labels).filter(([k]) => !k.startsWith("ems-test.")));
      expect(own).toEqual(labels(spec));
      expect(own).toEqual(
        expect.objectContaining({
          "com.ems.service": svc,
          "com.ems.environment": "development",
        }),
      );
      expect(envs({ envs: info.Config.Env })).toEqual(expect.objectContaining(envs(spec)));
      expect(info.Mounts.map((m: { Type: string; Destination: string }) => [m.Type, m.Destination]).sort()).toEqual(
        (spec.mounts ?? []).map((m) => [m.type, m.target]).sort(),
      );
      expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([networks.db, networks.proxy].sort());
      // In effect on the server process, not only recorded.
      expect(fs.readFileSync(`/proc/${info.State.Pid}/status`, "utf8")).toMatch(/NoNewPrivs:\s+1/);
    }
    expect(inspect(networks.db, "network").Internal).toBe(true);
    expect(inspect(networks.proxy, "network").Internal).toBe(false);
  });

  test("docker inspect shows no API key, JWT key or password anywhere", () => {
    for (const svc of ["ems", "sms"] as Svc[]) {
      const secrets = secretsOf(specs[svc]);
      expect(Object.keys(secrets)).toEqual(expect.arrayContaining(["API_KEY", "JWT_KEY", "DB_PASS"]));
      const shown = JSON.stringify(inspect(containers[svc]));
      for (const [name, value] of Object.entries(secrets)) {
        expect(value.length).toBeGreaterThanOrEqual(8);
        if (shown.includes(value)) throw new Error(`docker inspect ${containers[svc]} shows the value of ${name}`);
      }
      const health = JSON.stringify(inspect(containers[svc]).State.Health);
      for (const value of Object.values(secrets)) expect(health).not.toContain(value);
    }
  });

  test("an upload from the network lands in the host uploads folder and the request is logged in the host logs folder", async () => {
    const spec = specs.ems;
    const ip = containerIp(containers.ems, networks.proxy);
    const content = Buffer.from(`caderno ${scratch.id}\n`);
    const answer = await httpTo(ip, loadbalancerPort(spec), {
      method: "POST",
      path: `/api/v1/upload?name=nota-${scratch.id}.txt`,
      headers: {
        "x-api-key": secretsOf(spec).API_KEY,
        "content-length": String(content.length),
      },
      body: content,
    });
    expect(answer.status).toBe(201);
    const hostFolder = (target: string) => {
      const source = (spec.mounts ?? []).find((m) => m.target === target)?.source;
      if (source === undefined) throw new Error(`the EMS spec mounts nothing at ${target}`);
      return path.join(bindRoot, source);
    };
    const uploadsTarget = envs(spec).UPLOAD_PATH;
    expect(fs.readFileSync(path.join(hostFolder(uploadsTarget), `nota-${scratch.id}.txt`)).equals(content)).toBe(true);
    const logsTarget = `${envs(spec).HOME}/Documents/MeuAppDart/logs`;
    // The server logs a request once it has answered it: give the line a moment to land.
    const logFile = path.join(hostFolder(logsTarget), "app_logs.txt");
    const deadline = Date.now() + 5_000;
    while (!fs.readFileSync(logFile, "utf8").includes("POST /api/v1/upload 201") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(fs.readFileSync(logFile, "utf8")).toContain("POST /api/v1/upload 201");
  });

  test("a version that exits at start, and one whose health answers 500, never become healthy; the old one keeps answering", async () => {
    const broken = {
      exits: await create("ems", IMAGES.emsExits, "exits"),
      bad: await create("ems", IMAGES.emsHealth500, "500"),
    };
    const exitCodes = new Set<number>();
    const deadline = Date.now() + WAIT_TIMEOUT_S * 1000;
    while (Date.now() < deadline) {
      for (const name of Object.values(broken)) expect(healthOf(name)).not.toBe("healthy");
      exitCodes.add(inspect(broken.exits).State.ExitCode);
      await sleep(500);
    }
    // What an operator collects after the failed deploy: exit code, restarts, the last log lines, the probe's answer.
    const exits = inspect(broken.exits);
    exitCodes.add(exits.State.ExitCode);
    expect([...exitCodes]).toContain(3);
    expect(exits.RestartCount).toBeGreaterThanOrEqual(1);
    const tail = run("docker", ["logs", "--tail", "20", broken.exits]);
    expect(tail.stdout + tail.stderr).toContain("migration 0042_notebook_tags failed");
    const probes = (inspect(broken.bad).State.Health.Log as HealthState["Log"]).map((l) => l.Output);
    expect(probes.join("")).toContain("/api/v1/health -> 500");

    const old = run("docker", [
      "exec",
      containers.ems,
      "/run/ems/ems-run",
      "--probe",
      String(loadbalancerPort(specs.ems)),
      "/api/v1/health",
    ]);
    expect(old.stdout).toContain("-> 200");
    expect(old.status).toBe(0);
    for (const name of Object.values(broken)) scratch.remove(name, 1);
  }, 60_000);

  test("a version bump: the new container becomes healthy beside the old, and only then is the old stopped with its grace", async () => {
    const old = containers.sms;
    expect(envs(smsNext).APP_VERSION).toBe("1.1.1");
    const next = await create("sms", IMAGES.smsNextPg, "b", smsNext);
    let minHealthy = 2;
    const sample = () => {
      const healthy = [old, next].filter((n) => {
        try {
          return healthOf(n) === "healthy";
        } catch {
          return false; // removed
        }
      }).length;
      minHealthy = Math.min(minHealthy, healthy);
    };
    const sampler = setInterval(sample, 250);
    try {
      await waitForHealth(next, "healthy", (WAIT_TIMEOUT_S + 10) * 1000);
      const grace = specs.sms.destroyGraceSeconds;
      if (grace === undefined) throw new Error("the SMS spec sets no destroyGraceSeconds");
      const started = Date.now();
      scratch.remove(old, grace); // the provider's delete: stop with destroyGraceSeconds, then remove
      // The server ignores SIGTERM (as the Dart one does): it served until killed at the end of the grace.
      expect(Date.now() - started).toBeGreaterThanOrEqual(grace * 1000 - 500);
      sample();
    } finally {
      clearInterval(sampler);
    }
    expect(minHealthy).toBeGreaterThanOrEqual(1);
    const answer = await httpTo(containerIp(next, networks.proxy), 8080, {
      path: "/api/v1/health",
      headers: { "x-api-key": secretsOf(specs.sms).API_KEY },
    });
    expect(answer.body).toBe("{status: ok, version: 1.1.1, env: development}");
    expect(answer.status).toBe(200);
    // The old server's session ended with it; the new one holds its own.
    expect(pg.sessionAddresses(envs(smsNext).DB_USER, envs(smsNext).DB_NAME)).toEqual([containerIp(next, networks.db)]);
    containers.sms = next;
  }, 90_000);

  test("rotating ems.dbPassword: the databases command sets it, the new container logs in with it, the old one would be refused", async () => {
    const NEW_PASSWORD = "rotated-ems-db-password-0123";
    const rotated = await devSpecs(configOverrides({}, { ems: { dbPassword: NEW_PASSWORD } }));
    const next = rotated.container("ems");
    expect(secretsOf(next).DB_PASS).toBe(NEW_PASSWORD);
    expect(secretsOf(specs.ems).DB_PASS).not.toBe(NEW_PASSWORD);
    // Only the EMS API is affected: the SMS container's spec is the same, its role keeps its password.
    expect(secretsOf(rotated.container("sms"))).toEqual(secretsOf(specs.sms));
    const { DB_USER, DB_NAME } = envs(next);
    const smsSessions = pg.sessionAddresses(envs(specs.sms).DB_USER, envs(specs.sms).DB_NAME);

    // The up's order: the databases command (its stdin changed) before the API it depends on.
    expect(pg.ensureDatabases(rotated.run).stdout).toContain(`ensure-databases: password of role ${DB_USER} updated`);
    const old = containers.ems;
    // A session keeps running after its password changes: the old server still serves.
    expect(pg.sessionAddresses(DB_USER, DB_NAME)).toEqual([containerIp(old, networks.db)]);

    const fresh = await create("ems", IMAGES.emsPg, "rotated", next);
    await waitForHealth(fresh, "healthy", (WAIT_TIMEOUT_S + 10) * 1000);
    expect(pg.sessionAddresses(DB_USER, DB_NAME).sort()).toEqual(
      [containerIp(old, networks.db), containerIp(fresh, networks.db)].sort(),
    );

    // Were the old container to restart now (a daemon restart, an OOM kill), its password is refused.
    docker(["restart", "-t", "0", old]);
    expect(await exitedAtLeast(old, 2)).toBe(1);
    expect(docker(["logs", "--tail", "5", old]) + run("docker", ["logs", "--tail", "5", old]).stderr).toContain(
      `password authentication failed for user "${DB_USER}"`,
    );
    scratch.remove(old, 1);
    expect(pg.sessionAddresses(DB_USER, DB_NAME)).toEqual([containerIp(fresh, networks.db)]);
    expect(pg.sessionAddresses(envs(specs.sms).DB_USER, envs(specs.sms).DB_NAME)).toEqual(smsSessions);
    containers.ems = fresh;
  }, 90_000);
});

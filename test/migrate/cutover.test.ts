/**
 * The cut-over's order, its undo and its idempotence, over a fake host that answers the exact commands the
 * cut-over sends (CUTOVER_COMMANDS / PREFLIGHT_COMMANDS) and keeps the containers' states.
 * The same commands run against dockerd in rehearsal.test.ts and interrupted.test.ts.
 */
import { CUTOVER_COMMANDS as C } from "../../ops/hostCommands/cutover";
import { inspectEnv } from "../../ops/hostCommands/credentials";
import type { Step } from "../../ops/migrate/journal";
import { CutoverDeps, CutoverOptions, CutoverOutputs, runCutover } from "../../ops/migrate/cutover";
import type { BoundShell, Captured } from "../../ops/runner/hostShell";
import { legacySystem } from "../../ops/migrate/legacy";
import { PREFLIGHT_COMMANDS as P } from "../../ops/hostCommands/preflight";

const API_KEY = { ems: "ems-key-0123456789abcdef", sms: "sms-key-fedcba9876543210" };
const BACKUPS = "/root/ems_system/data/cutover";
const SECRETS_DIR = "/root/ems_system/.secrets";
const OURS = "com.ems.system=ems_system";
/** What the old containers' environment holds (the old .env). */
const OLD_ENV: Record<string, Record<string, string>> = {
  ems_server_prod: {
    DB_NAME: "ems_production",
    DB_USER: "ems_user",
    DB_PASS: "old-ems-db-password",
    JWT_KEY: "old-ems-jwt-key-0123456789",
    API_KEY: API_KEY.ems,
  },
  sms_server_prod: {
    DB_NAME: "sms_production",
    DB_USER: "sms_user",
    DB_PASS: "old-sms-db-password",
    JWT_KEY: "old-sms-jwt-key-0123456789",
    API_KEY: API_KEY.sms,
  },
  postgres_ems_system: { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: "", POSTGRES_DB: "postgres_admin" },
};
const STACK_CREDENTIALS = {
  postgresUser: "postgres",
  services: ["ems", "sms"].map((svc) => ({
    name: svc,
    database: `${svc}_production`,
    role: `${svc}_user`,
    dbPassword: OLD_ENV[`${svc}_server_prod`].DB_PASS,
    apiKey: OLD_ENV[`${svc}_server_prod`].API_KEY,
    jwtKey: OLD_ENV[`${svc}_server_prod`].JWT_KEY,
  })),
};
const legacy = legacySystem();

interface FakeContainer {
  running: boolean;
  policy: string;
  labels: string[];
  /** Mounts postgres_ems_system_data. */
  volume?: boolean;
  /** Publishes 80/443. */
  ports?: boolean;
  /** `docker stop` fails. */
  stuck?: boolean;
  /** Restarts since it was created (a crash loop counts up). */
  restarts?: number;
}

class FakeHost implements BoundShell {
  readonly where = "local";
  readonly commands: string[] = [];
  readonly inputs: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  crontab = "0 2 * * * /root/ems_system/data/backups/backup.sh\n";
  /** The journal file's content ("" when there is none). */
  journal = "";
  journalMode = 0;
  engine = "1.41 20.10.24";
  /** What the health probe answers per host name (default 200 once the stack's containers run). */
  health: (host: string) => string = () => (this.containers.get("infra_traefik")?.running ? "200" : "000");
  dumpFails = false;
  clockMs = 1_764_600_000_000;

  constructor() {
    for (const n of ["ems_server_prod", "sms_server_prod"])
      this.containers.set(n, { running: true, policy: "unless-stopped", labels: ["com.ems.environment=production"] });
    this.containers.set("traefik", { running: true, policy: "always", labels: [], ports: true });
    this.containers.set("portainer", { running: true, policy: "always", labels: [] });
    this.containers.set("postgres_ems_system", { running: true, policy: "always", labels: [], volume: true });
  }

  /** The old APIs with their com.ems.service label, as `docker inspect` shows them. */
  private inspect(name: string): string {
    const env = OLD_ENV[name] ?? {};
    const labels = name.endsWith("_server_prod") ? { "com.ems.service": name.slice(0, 3) } : {};
    return `${Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("")}${JSON.stringify(labels)}\n`;
  }

  /** What `pulumi up` would create. */
  createStack(): void {
    for (const n of ["ems_system-postgres", "infra_traefik", "infra_portainer", "ems-1a2b3c", "sms-4d5e6f"]) {
      this.containers.set(n, {
        running: true,
        policy: "unless-stopped",
        labels: ["com.ems.environment=production", OURS],
        volume: n === "ems_system-postgres",
        ports: n === "infra_traefik",
      });
    }
  }

  private ok(stdout = ""): Captured {
    return { code: 0, stdout, stderr: "" };
  }

  async run(command: string, options: { input?: string } = {}): Promise<Captured> {
    this.commands.push(command);
    this.inputs.push(options.input ?? "");
    this.clockMs += 1000;
    if (command === P.engine) return this.ok(`${this.engine}\n`);
    if (command === P.containers)
      return this.ok([...this.containers].map(([n, c]) => `${n}\t${c.running ? "running" : "exited"}\n`).join(""));
    if (command === P.databaseBytes(legacy.postgresContainer, "postgres")) return this.ok("50000000\n");
    if (command === P.df(BACKUPS))
      return this.ok(
        "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 40000000 1000000 39000000 3% /\n",
      );
    if (command === P.crontab) return this.ok(this.crontab);
    if (command === C.writeCrontab) {
      this.crontab = options.input ?? "";
      return this.ok();
    }
    if (command === C.readJournal(`${SECRETS_DIR}/cutover-journal.json`)) return this.ok(this.journal);
    if (command === C.writeJournal(`${SECRETS_DIR}/cutover-journal.json`)) {
      this.journal = options.input ?? "";
      this.journalMode = 0o600;
      return this.ok();
    }
    if (command === C.removeJournal(`${SECRETS_DIR}/cutover-journal.json`)) {
      this.journal = "";
      return this.ok();
    }
    if (command.startsWith("sh -s -- ") && options.input?.includes("copy-uploads.sh"))
      return this.ok(
        command.includes("ems_server_prod") ? "files=3 bytes=85345 copied=3 same=0 conflicts=0\n" : "none\n",
      );
    if (
      command === C.rowCounts("postgres_ems_system", "postgres") ||
      command === C.rowCounts("ems_system-postgres", "postgres")
    )
      return this.ok("ems_production.public.users 502\nsms_production.public.messages 2\n");
    if (
      command === C.sessions("postgres_ems_system", "postgres") ||
      command === C.sessions("ems_system-postgres", "postgres")
    )
      return this.ok("ems_user ems_production\nsms_user sms_production\n");
    if (command === C.psqlStdin("postgres_ems_system", "postgres")) return this.ok();
    if (command === C.volumeHolders("postgres_ems_system_data"))
      return this.ok(
        [...this.containers]
          .filter(([, c]) => c.volume)
          .map(([n, c]) => `${n}\t${c.labels.includes(OURS) ? "ems_system" : ""}\n`)
          .join(""),
      );
    if (command.includes("pg_dumpall"))
      return this.dumpFails ? { code: 1, stdout: "", stderr: "pg_dumpall exited with 1" } : this.ok("1234 bytes\n");
    if (command.includes("cp -p")) return this.ok("copied\n");
    if (command.startsWith("curl ")) {
      const host = /https:\/\/([^:/]+)/.exec(command)![1];
      return this.ok(this.health(host));
    }
    const names = (pick: (c: FakeContainer) => boolean | undefined) =>
      this.ok(
        [...this.containers]
          .filter(([, c]) => c.running && pick(c))
          .map(([n]) => `${n}\n`)
          .join(""),
      );
    if (command === C.usingVolume("postgres_ems_system_data")) return names((c) => c.volume);
    if (command === C.publishing(80) || command === C.publishing(443)) return names((c) => c.ports);
    if (command === C.withLabel(OURS)) {
      return this.ok(
        [...this.containers]
          .filter(([, c]) => c.running && c.labels.includes(OURS))
          .map(([n]) => `${n}\n`)
          .join(""),
      );
    }
    for (const [name, c] of this.containers) {
      if (command === C.restartPolicy(name)) return this.ok(`${c.policy}\n`);
      if (command === inspectEnv(name)) return this.ok(this.inspect(name));
      if (command === C.removeStopped(name)) {
        if (c.running)
          return { code: 1, stdout: "", stderr: `Error response from daemon: container ${name} is running` };
        this.containers.delete(name);
        return this.ok();
      }
      if (command === C.runState(name)) return this.ok(`${c.running} false ${c.restarts ?? 0}\n`);
      if (command === C.stop(name, 60) || command === C.kill(name)) {
        c.running = false;
        c.policy = "no";
        return this.ok();
      }
      if (command === C.stopNew(name)) {
        if (c.stuck)
          return {
            code: 1,
            stdout: "",
            stderr: `Error response from daemon: cannot stop container: ${name}: permission denied`,
          };
        c.running = false;
        return this.ok();
      }
      for (const policy of ["always", "unless-stopped"]) {
        if (command === C.start(name, policy)) {
          c.running = true;
          c.policy = policy;
          return this.ok();
        }
      }
      if (command === C.waitPostgres(name, "postgres", 60)) return this.ok();
    }
    if (command.startsWith("docker inspect")) return { code: 1, stdout: "", stderr: "Error: No such object" };
    const missing = /^docker stop -t 30 (\S+) /.exec(command);
    if (missing) return { code: 1, stdout: "", stderr: `Error response from daemon: No such container: ${missing[1]}` };
    return { code: 127, stdout: "", stderr: `fake host: unexpected command ${command}` };
  }
}

const OUTPUTS: CutoverOutputs = {
  containers: ["ems_system-postgres", "infra_traefik", "infra_portainer", "ems-1a2b3c", "sms-4d5e6f"],
  postgresContainer: "ems_system-postgres",
  apis: [
    {
      service: "ems",
      host: "api.ems.edumigsoft.com.br",
      healthPath: "/api/v1/health",
      apiKey: API_KEY.ems,
      role: "ems_user",
      database: "ems_production",
    },
    {
      service: "sms",
      host: "api.sms.edumigsoft.com.br",
      healthPath: "/api/v1/health",
      apiKey: API_KEY.sms,
      role: "sms_user",
      database: "sms_production",
    },
  ],
};

function setup(overrides: Partial<CutoverOptions> = {}, upOk = true) {
  const host = new FakeHost();
  const log: string[] = [];
  const calls: string[] = [];
  const adopted: string[][] = [];
  const signal: { at?: Step; value?: string } = {};
  const kill: { at?: Step } = {};
  const deps: CutoverDeps = {
    shell: host,
    async up() {
      calls.push(
        `up after: ${
          [...host.containers]
            .filter(([, c]) => c.running)
            .map(([n]) => n)
            .join(",") || "nothing running"
        }`,
      );
      if (!upOk) return { ok: false, message: "ems: the container did not become healthy within 120 s" };
      host.createStack();
      return { ok: true, message: "5 created" };
    },
    outputs: async () => OUTPUTS,
    confirm: async () => true,
    log: (line) => log.push(line),
    now: () => host.clockMs,
    sleep: async (ms) => void (host.clockMs += ms),
    adoptCredentials: async (m) => void adopted.push(m.map((x) => x.key)),
    interrupted: () => signal.value,
    checkpoint: (step: Step) => {
      if (step === signal.at) signal.value = "SIGHUP";
      return step === kill.at ? new Promise<void>(() => undefined) : Promise.resolve();
    },
  };
  const options: CutoverOptions = {
    legacy,
    traefikImage: "traefik:v3.6.1",
    backupDir: BACKUPS,
    journalDir: SECRETS_DIR,
    system: "ems_system",
    stackName: "prod",
    credentials: STACK_CREDENTIALS,
    adoptCredentials: false,
    uploads: [
      { service: "ems", dest: "/root/ems_system/data/uploads/ems" },
      { service: "sms", dest: "/root/ems_system/data/uploads/sms" },
    ],
    gate: { address: "127.0.0.1", port: 443, insecure: false, timeoutMs: 30_000, intervalMs: 2_000 },
    dryRun: false,
    undo: false,
    stopSeconds: 60,
    settleMs: 20_000,
    ...overrides,
  };
  return { host, log, calls, deps, options, adopted, signal, kill };
}

const running = (host: FakeHost) =>
  [...host.containers]
    .filter(([, c]) => c.running)
    .map(([n]) => n)
    .sort();

/** The old containers kept (stopped) after a successful cut-over. */
const KEPT = ["traefik", "ems_server_prod", "sms_server_prod", "portainer"];
const OLD = ["ems_server_prod", "portainer", "postgres_ems_system", "sms_server_prod", "traefik"];

/** Runs a cut-over that is killed (kill -9) as `step` starts: the promise never settles. */
async function killedAt(step: Step, s: ReturnType<typeof setup>): Promise<void> {
  s.kill.at = step;
  void runCutover(s.deps, s.options);
  for (let i = 0; i < 200 && !s.host.journal.includes(`"step": "${step}"`); i++)
    await new Promise((r) => setImmediate(r));
  expect(s.host.journal).toContain(`"step": "${step}"`);
  s.kill.at = undefined;
}

describe("the cut-over", () => {
  test("backs up first, stops the old Traefik, kills the old APIs (they ignore SIGTERM), then Portainer and Postgres, then runs pulumi up with nothing old running", async () => {
    const { host, log, calls, deps, options } = setup();
    const result = await runCutover(deps, options);

    expect(result.outcome).toBe("migrated");
    const changes = host.commands.filter(
      (c) => c.includes("pg_dumpall") || c.includes("cp -p") || /docker (stop|kill|update)/.test(c),
    );
    expect(changes[0]).toContain(`docker exec postgres_ems_system pg_dumpall -U postgres`);
    expect(changes[0]).toMatch(/out=\/root\/ems_system\/data\/cutover\/cluster_\d{8}T\d{6}Z\.sql\.gz/);
    expect(changes[1]).toMatch(
      /from=\/root\/infra\/letsencrypt\/ems_system\.json\nto=\/root\/ems_system\/data\/cutover\/ems_system_\d{8}T\d{6}Z\.json/,
    );
    expect(changes.slice(2)).toEqual([
      C.stop("traefik", 60),
      C.kill("ems_server_prod"),
      C.kill("sms_server_prod"),
      C.stop("portainer", 60),
      C.stop("postgres_ems_system", 60),
    ]);
    expect(calls).toEqual(["up after: nothing running"]);
    for (const n of KEPT) expect(host.containers.get(n)).toMatchObject({ running: false, policy: "no" });
    // the old Postgres is removed once the stack serves: nothing can start a second server on the volume
    expect(host.containers.has("postgres_ems_system")).toBe(false);
    expect(log.join("\n")).toMatch(
      /downtime: \d+(\.\d)? s \(old Traefik stopped → first API answering through the new Traefik\)/,
    );
    // the journal was written (mode 600) and removed once the stack served
    expect(host.journalMode).toBe(0o600);
    expect(host.journal).toBe("");
  });

  test("the uploads are copied out of the old containers before they stop and again once the APIs are down", async () => {
    const { host, log, deps, options } = setup();
    await runCutover(deps, options);
    const copies = host.commands.map((c, i) => ({ c, i })).filter(({ c }) => c.startsWith("sh -s -- ems_server_prod"));
    expect(copies.map(({ c }) => c)).toEqual([
      "sh -s -- ems_server_prod /uploads /root/ems_system/data/uploads/ems",
      "sh -s -- ems_server_prod /uploads /root/ems_system/data/uploads/ems",
    ]);
    expect(copies[0].i).toBeLessThan(host.commands.indexOf(C.stop("traefik", 60)));
    expect(copies[1].i).toBeGreaterThan(host.commands.indexOf(C.kill("sms_server_prod")));
    expect(copies[1].i).toBeLessThan(host.commands.indexOf(C.stop("postgres_ems_system", 60)));
    expect(log).toContain(
      "uploads: ems_server_prod:/uploads → /root/ems_system/data/uploads/ems: files=3 bytes=85345 copied=3 same=0 conflicts=0 (verified)",
    );
  });

  test("each API's health gate goes through the new Traefik with its key on stdin, never in a command or the log", async () => {
    const { host, log, deps, options } = setup();
    await runCutover(deps, options);
    const probes = host.commands.map((c, i) => [c, host.inputs[i]] as const).filter(([c]) => c.startsWith("curl "));
    expect(probes).toEqual([
      [
        "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --resolve api.ems.edumigsoft.com.br:443:127.0.0.1 -H @- https://api.ems.edumigsoft.com.br:443/api/v1/health",
        `x-api-key: ${API_KEY.ems}\n`,
      ],
      [
        "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --resolve api.sms.edumigsoft.com.br:443:127.0.0.1 -H @- https://api.sms.edumigsoft.com.br:443/api/v1/health",
        `x-api-key: ${API_KEY.sms}\n`,
      ],
    ]);
    for (const key of Object.values(API_KEY)) {
      expect(host.commands.join("\n")).not.toContain(key);
      expect(log.join("\n")).not.toContain(key);
    }
  });

  test("a rate-limited 403 passes the gate only when the API is logged into the new PostgreSQL", async () => {
    const first = setup();
    first.host.health = () => "403";
    expect((await runCutover(first.deps, first.options)).outcome).toBe("migrated");
    expect(first.log).toContain(
      "ems: https://api.ems.edumigsoft.com.br/api/v1/health answers 403 (its one 20/min bucket is full) and is logged into PostgreSQL as ems_user on ems_production through the new Traefik",
    );
    const second = setup();
    second.host.health = () => "403";
    const run = second.host.run.bind(second.host);
    second.host.run = async (command, opts) =>
      command === C.sessions("ems_system-postgres", "postgres")
        ? { code: 0, stdout: "", stderr: "" }
        : run(command, opts);
    expect((await runCutover(second.deps, second.options)).outcome).not.toBe("migrated");
  });

  test("the downtime is measured from the old Traefik stopped to the first API answering", async () => {
    const { host, log, deps, options } = setup();
    let stoppedAt = 0;
    let answeredAt = 0;
    const run = host.run.bind(host);
    host.run = async (command, opts) => {
      if (command === C.stop("traefik", 60)) stoppedAt = JSON.parse(host.journal).stoppedAt;
      const r = await run(command, opts);
      if (command.startsWith("curl ") && r.stdout === "200" && !answeredAt) answeredAt = host.clockMs;
      return r;
    };
    const result = await runCutover(deps, options);
    expect(result).toMatchObject({ outcome: "migrated", downtimeSeconds: (answeredAt - stoppedAt) / 1000 });
    expect(log).toContain(
      `downtime: ${(answeredAt - stoppedAt) / 1000} s (old Traefik stopped → first API answering through the new Traefik)`,
    );
  });

  test("a failed pulumi up stops this system's new containers and starts the old ones again, Postgres first, with their policies and old passwords", async () => {
    const { host, log, deps, options } = setup({}, false);
    host.containers.set("ems_system-postgres", {
      running: true,
      policy: "unless-stopped",
      labels: [OURS],
      volume: true,
    });
    host.containers.set("ems-1a2b3c", { running: true, policy: "unless-stopped", labels: [OURS] });
    const result = await runCutover(deps, options);

    expect(result).toMatchObject({
      outcome: "rolled-back",
      reason: "pulumi up failed: ems: the container did not become healthy within 120 s",
    });
    expect(running(host)).toEqual(OLD);
    const starts = host.commands.filter((c) => c.includes("docker start"));
    expect(starts[0]).toBe(C.start("postgres_ems_system", "always"));
    expect(starts.slice(-2)).toEqual([
      C.start("ems_server_prod", "unless-stopped"),
      C.start("sms_server_prod", "unless-stopped"),
    ]);
    expect(host.commands.indexOf(C.stopNew("ems_system-postgres"))).toBeLessThan(host.commands.indexOf(starts[0]));
    // the old roles get their old passwords back (on stdin) before the old APIs start
    const pw = host.commands.indexOf(C.psqlStdin("postgres_ems_system", "postgres"));
    expect(host.inputs[pw]).toContain(`ALTER ROLE "ems_user" PASSWORD 'old-ems-db-password';`);
    expect(pw).toBeLessThan(host.commands.indexOf(C.start("ems_server_prod", "unless-stopped")));
    expect(host.containers.get("traefik")!.policy).toBe("always");
    expect(log).toContain(
      "undo: ems_server_prod: running, 0 restarts in 20 s, logged into PostgreSQL as ems_user on ems_production",
    );
    expect(log.at(-1)).toMatch(
      /^undone: the old compose system runs again \(postgres_ems_system, traefik, portainer, ems_server_prod, sms_server_prod\)/,
    );
    expect(host.journal).toBe("");
  });

  test("an unexpected error after the old system stopped (the host shell throws during the gate) is undone: the old system runs again", async () => {
    const { host, log, deps, options } = setup();
    const up = deps.up.bind(deps);
    let upDone = false;
    deps.up = async () => {
      const r = await up();
      upDone = true;
      return r;
    };
    const run = host.run.bind(host);
    let thrown = false;
    host.run = async (command, opts) => {
      if (upDone && !thrown) {
        thrown = true;
        throw new Error("spawn ssh EAGAIN");
      }
      return run(command, opts);
    };
    const result = await runCutover(deps, options);

    expect(thrown).toBe(true);
    expect(result).toMatchObject({ outcome: "rolled-back" });
    expect(log).toContain('FAILED: unexpected error in step "gate": spawn ssh EAGAIN');
    expect(running(host)).toEqual(OLD);
    expect(host.journal).toBe("");
  });

  test("an undo whose old APIs crash-loop or do not log in says so and keeps the journal", async () => {
    const { host, log, deps, options } = setup({}, false);
    const run = host.run.bind(host);
    host.run = async (command, opts) => {
      const r = await run(command, opts);
      if (command === C.start("ems_server_prod", "unless-stopped"))
        host.containers.get("ems_server_prod")!.restarts = 4;
      if (command === C.sessions("postgres_ems_system", "postgres"))
        return { ...r, stdout: "sms_user sms_production\n" };
      return r;
    };
    let starts = 0;
    const sleep = deps.sleep;
    deps.sleep = async (ms) => {
      starts++;
      host.containers.get("ems_server_prod")!.restarts = 7; // it restarted 3 times while watched
      return sleep(ms);
    };
    const result = await runCutover(deps, options);
    expect(starts).toBeGreaterThan(0);
    expect(result.outcome).toBe("undo-failed");
    expect(log).toContain("undo: PROBLEM: ems_server_prod: running, 3 restarts in 20 s, NOT logged into PostgreSQL");
    expect(host.journal).toContain('"step": "undo"');
  });

  test("an API that never answers its health gate is undone; old APIs and another system's containers are never stopped", async () => {
    const { host, log, deps, options } = setup();
    host.health = () => "404";
    host.containers.set("other_system-api", {
      running: true,
      policy: "unless-stopped",
      labels: ["com.ems.environment=production", "com.ems.system=other_system"],
    });
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("rolled-back");
    expect(log).toContain(
      "FAILED: ems did not answer its health gate at https://api.ems.edumigsoft.com.br/api/v1/health: HTTP 404",
    );
    expect(running(host)).toEqual([...OLD, "other_system-api"].sort());
    expect(host.commands.filter((c) => c.includes("other_system-api"))).toEqual([]);
    expect(host.commands.filter((c) => c === C.stopNew("ems_server_prod"))).toEqual([]);
    expect(host.commands.filter((c) => c.startsWith("curl ")).length).toBeLessThanOrEqual(16);
  });

  test("a container on the data volume that is not this system's is never stopped by the undo, and the old Postgres is not started", async () => {
    const { host, log, deps, options } = setup({}, false);
    const run = host.run.bind(host);
    let upDone = false;
    deps.up = async () => {
      upDone = true;
      host.containers.set("postgres_copy", { running: true, policy: "no", labels: [], volume: true });
      return { ok: false, message: "ems: the container did not become healthy within 120 s" };
    };
    host.run = (command, opts) => run(command, opts);
    const result = await runCutover(deps, options);
    expect(upDone).toBe(true);
    expect(result.outcome).toBe("undo-failed");
    expect(host.containers.get("postgres_copy")!.running).toBe(true);
    expect(host.containers.get("postgres_ems_system")!.running).toBe(false);
    expect(host.commands.some((c) => c.includes("docker start"))).toBe(false);
    expect(log.join("\n")).toContain(
      "postgres_copy still runs on postgres_ems_system_data and is not this system's: the old Postgres is NOT started",
    );
  });

  test("when the new Postgres cannot be stopped, the old one is NOT started on the same volume, and the command says so", async () => {
    const { host, log, deps, options } = setup({}, false);
    host.containers.set("ems_system-postgres", {
      running: true,
      policy: "unless-stopped",
      labels: [OURS],
      volume: true,
      stuck: true,
    });
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("undo-failed");
    expect(host.containers.get("postgres_ems_system")!.running).toBe(false);
    expect(host.commands.some((c) => c.includes("docker start"))).toBe(false);
    expect(log.join("\n")).toContain("ems_system-postgres still runs on postgres_ems_system_data");
  });

  test("a failed dump stops nothing and leaves no journal", async () => {
    const { host, calls, deps, options, log } = setup();
    host.dumpFails = true;
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("refused");
    expect(host.commands.filter((c) => /docker (stop|kill|update)/.test(c))).toEqual([]);
    expect(calls).toEqual([]);
    expect(host.journal).toBe("");
    expect(log).toContain("nothing was stopped: the old system still serves");
  });

  test("a foreign container on the data volume (running or not) is refused before anything changes, naming the command", async () => {
    const { host, log, calls, deps, options } = setup();
    host.containers.set("pg_test_copy", { running: false, policy: "no", labels: [], volume: true });
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("refused");
    expect(log.join("\n")).toContain(
      "pg_test_copy mounts the data volume postgres_ems_system_data and is not this stack's: two PostgreSQL servers on one data folder corrupt it. Check it holds nothing you need, then remove it: docker rm -f pg_test_copy",
    );
    expect(host.journal).toBe("");
    expect(calls).toEqual([]);
  });

  test("credentials that differ from the old containers' are refused with the key to set (secrets piped, never shown); --adopt-credentials takes them over", async () => {
    const other = {
      ...STACK_CREDENTIALS,
      services: STACK_CREDENTIALS.services.map((s) =>
        s.name === "ems" ? { ...s, database: "db_ems", dbPassword: undefined } : s,
      ),
    };
    const refused = setup({ credentials: other });
    expect((await runCutover(refused.deps, refused.options)).outcome).toBe("refused");
    const text = refused.log.join("\n");
    expect(text).toContain(
      `the database ems_server_prod uses (DB_NAME) is "ems_production": set ems-infra:services.ems.database to it\n    pulumi config set --stack prod --path 'ems-infra:services.ems.database' ems_production`,
    );
    expect(text).toContain(
      "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ems_server_prod | sed -n 's/^DB_PASS=//p' | pulumi config set --stack prod --secret --path 'ems-infra:serviceSecrets.ems.dbPassword'",
    );
    expect(text).not.toContain("old-ems-db-password");
    expect(refused.host.journal).toBe("");

    const adopt = setup({ credentials: other, adoptCredentials: true });
    expect((await runCutover(adopt.deps, adopt.options)).outcome).toBe("migrated");
    expect(adopt.adopted).toEqual([["ems-infra:services.ems.database", "ems-infra:serviceSecrets.ems.dbPassword"]]);
  });

  test("a Traefik that cannot talk to Docker 29 is refused before anything changes", async () => {
    const { host, log, calls, deps, options } = setup({ traefikImage: "traefik:v3.3.5" });
    host.engine = "1.52 29.1.3 amd64";
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("refused");
    expect(log).toContain("nothing was changed");
    expect(
      host.commands.every(
        (c) =>
          [P.engine, P.containers, P.crontab, C.readJournal(`${SECRETS_DIR}/cutover-journal.json`)].includes(c) ||
          c.includes("pg_database_size") ||
          c.includes("df -Pk"),
      ),
    ).toBe(true);
    expect(calls).toEqual([]);
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    const { host, log, calls, deps, options } = setup({ dryRun: true });
    expect((await runCutover(deps, options)).outcome).toBe("planned");
    expect(log.join("\n")).toContain(
      "4. stop (kept, restart policy no): traefik, ems_server_prod, sms_server_prod, portainer, postgres_ems_system (the old APIs killed: they ignore SIGTERM)",
    );
    expect(running(host)).toEqual(OLD);
    expect(calls).toEqual([]);
    expect(host.journal).toBe("");
  });

  test.each<Step>(["backup", "copy-uploads", "stop", "up", "gate"])(
    "killed as step %s starts, the next run finds the journal and resumes to one system serving",
    async (step) => {
      const s = setup();
      await killedAt(step, s);
      s.log.length = 0;
      const result = await runCutover(s.deps, s.options);
      expect(result.outcome).toBe("migrated");
      expect(s.log[0]).toMatch(new RegExp(`^found the journal of a cut-over started .* interrupted at step "${step}"`));
      expect(running(s.host)).toEqual([
        "ems-1a2b3c",
        "ems_system-postgres",
        "infra_portainer",
        "infra_traefik",
        "sms-4d5e6f",
      ]);
      for (const n of KEPT) expect(s.host.containers.get(n)).toMatchObject({ running: false, policy: "no" });
      expect(s.host.containers.has("postgres_ems_system")).toBe(false);
      expect(s.host.journal).toBe("");
    },
  );

  test("killed as the stop step starts (before any stop), --undo finds nothing stopped: the old system serves", async () => {
    const s = setup();
    await killedAt("stop", s);
    s.log.length = 0;
    const result = await runCutover(s.deps, { ...s.options, undo: true });
    expect(result.outcome).toBe("refused");
    expect(s.log).toContain("nothing was stopped: the old system still serves");
    expect(running(s.host)).toEqual(OLD);
    expect(s.host.journal).toBe("");
  });

  test.each<Step>(["up", "gate"])(
    "killed as step %s starts, --undo starts the old system with its restart policies and watches it",
    async (step) => {
      const s = setup();
      await killedAt(step, s);
      s.log.length = 0;
      const result = await runCutover(s.deps, { ...s.options, undo: true });
      expect(result.outcome).toBe("rolled-back");
      expect(running(s.host)).toEqual(OLD);
      expect(s.host.containers.get("postgres_ems_system")!.policy).toBe("always");
      expect(s.host.containers.get("ems_server_prod")!.policy).toBe("unless-stopped");
      expect(s.host.journal).toBe("");
    },
  );

  test("--undo without a journal says there is nothing to undo and changes nothing", async () => {
    const { host, log, deps, options } = setup({ undo: true });
    expect((await runCutover(deps, options)).outcome).toBe("nothing-to-undo");
    expect(log).toEqual(["nothing to undo: no cut-over journal at /root/ems_system/.secrets/cutover-journal.json"]);
    expect(host.commands.filter((c) => /docker (stop|kill|start|update)/.test(c))).toEqual([]);
  });

  test.each<Step>(["copy-uploads", "stop", "up", "gate"])(
    "a signal (SIGHUP) during step %s runs the undo",
    async (step) => {
      const s = setup();
      s.signal.at = step;
      const result = await runCutover(s.deps, s.options);
      expect(["rolled-back", "refused"]).toContain(result.outcome);
      expect(s.log.join("\n")).toContain(`FAILED: interrupted (SIGHUP) before step "${step}"`);
      expect(running(s.host)).toEqual(OLD);
      expect(s.host.journal).toBe("");
    },
  );

  test("a second run finds no old container running and says there is nothing to migrate", async () => {
    const { host, log, calls, deps, options } = setup();
    expect((await runCutover(deps, options)).outcome).toBe("migrated");
    const commandsBefore = host.commands.length;
    log.length = 0;
    calls.length = 0;
    expect((await runCutover(deps, options)).outcome).toBe("nothing-to-migrate");
    expect(log.join("\n")).toContain("nothing to migrate: no container of the old compose system is running");
    expect(calls).toEqual([]);
    expect(
      host.commands.slice(commandsBefore).filter((c) => /docker (stop|kill|start|update)|pg_dumpall/.test(c)),
    ).toEqual([]);
  });

  test("a successful cut-over disables the old cron line (commented out), keeping the others", async () => {
    const s = setup();
    s.host.crontab = "0 2 * * * /root/ems_system/data/backups/backup.sh\n*/5 * * * * /usr/local/bin/other\n";
    await runCutover(s.deps, s.options);
    expect(s.log).toContain('preflight: old backup cron line(s): "0 2 * * * /root/ems_system/data/backups/backup.sh"');
    expect(s.host.crontab).toBe(
      "# disabled by npm run migrate (the stack backs up): 0 2 * * * /root/ems_system/data/backups/backup.sh\n*/5 * * * * /usr/local/bin/other\n",
    );
    const undone = setup({}, false);
    await runCutover(undone.deps, undone.options);
    expect(undone.host.crontab).toBe("0 2 * * * /root/ems_system/data/backups/backup.sh\n");
  });

  test("Postgres stopped while its APIs run is refused: there would be nothing to dump", async () => {
    const { host, log, deps, options } = setup();
    host.containers.get("postgres_ems_system")!.running = false;
    expect((await runCutover(deps, options)).outcome).toBe("refused");
    expect(log).toContain(
      "preflight: REFUSED: postgres_ems_system is not running while traefik, ems_server_prod, sms_server_prod, portainer are: start it (docker start postgres_ems_system) so the databases can be dumped, then run again",
    );
  });
});

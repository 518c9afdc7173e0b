/**
 * The cut-over's order, its undo and its idempotence, over a fake host that answers the exact commands the
 * cut-over sends (CUTOVER_COMMANDS / PREFLIGHT_COMMANDS) and keeps the containers' states.
 * The same commands run against dockerd in rehearsal.test.ts.
 */
import { CUTOVER_COMMANDS as C } from "../../ops/migrate/commands";
import { CutoverDeps, CutoverOptions, CutoverOutputs, runCutover } from "../../ops/migrate/cutover";
import type { BoundShell, Captured } from "../../ops/runner/hostShell";
import { legacySystem, stopOrder } from "../../ops/migrate/legacy";
import { PREFLIGHT_COMMANDS as P } from "../../ops/preflight";

const API_KEY = { ems: "ems-key-0123456789abcdef", sms: "sms-key-fedcba9876543210" };
const BACKUPS = "/root/ems_system/data/backups";
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
}

class FakeHost implements BoundShell {
  readonly where = "local";
  readonly commands: string[] = [];
  readonly inputs: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  crontab = "0 2 * * * /root/ems_system/data/backups/backup.sh\n";
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

  /** What `pulumi up` would create. */
  createStack(): void {
    for (const n of ["ems_system-postgres", "infra_traefik", "infra_portainer", "ems-1a2b3c", "sms-4d5e6f"]) {
      this.containers.set(n, {
        running: true,
        policy: "unless-stopped",
        labels: ["com.ems.environment=production"],
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
    if (command === C.withLabel("com.ems.environment=production")) {
      return this.ok(
        [...this.containers]
          .filter(([, c]) => c.running && c.labels.includes("com.ems.environment=production"))
          .map(([n]) => `${n}\n`)
          .join(""),
      );
    }
    for (const [name, c] of this.containers) {
      if (command === C.restartPolicy(name)) return this.ok(`${c.policy}\n`);
      if (command === C.stop(name, 60)) {
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
    const missing = /^docker stop -t 30 (\S+) /.exec(command);
    if (missing) return { code: 1, stdout: "", stderr: `Error response from daemon: No such container: ${missing[1]}` };
    return { code: 127, stdout: "", stderr: `fake host: unexpected command ${command}` };
  }
}

const OUTPUTS: CutoverOutputs = {
  containers: ["ems_system-postgres", "infra_traefik", "infra_portainer", "ems-1a2b3c", "sms-4d5e6f"],
  postgresContainer: "ems_system-postgres",
  apis: [
    { service: "ems", host: "api.ems.edumigsoft.com.br", healthPath: "/api/v1/health", apiKey: API_KEY.ems },
    { service: "sms", host: "api.sms.edumigsoft.com.br", healthPath: "/api/v1/health", apiKey: API_KEY.sms },
  ],
};

function setup(overrides: Partial<CutoverOptions> = {}, upOk = true) {
  const host = new FakeHost();
  const log: string[] = [];
  const calls: string[] = [];
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
  };
  const options: CutoverOptions = {
    legacy,
    traefikImage: "traefik:v3.6.1",
    backupDir: BACKUPS,
    stackLabel: "com.ems.environment=production",
    gate: { address: "127.0.0.1", port: 443, insecure: false, timeoutMs: 30_000, intervalMs: 2_000 },
    replaceCron: false,
    dryRun: false,
    stopSeconds: 60,
    ...overrides,
  };
  return { host, log, calls, deps, options };
}

const running = (host: FakeHost) =>
  [...host.containers]
    .filter(([, c]) => c.running)
    .map(([n]) => n)
    .sort();

describe("the cut-over", () => {
  test("backs up first, stops the old system APIs → Traefik/Portainer → Postgres, then runs pulumi up with nothing old running", async () => {
    const { host, log, calls, deps, options } = setup();
    const result = await runCutover(deps, options);

    expect(result.outcome).toBe("migrated");
    const changes = host.commands.filter(
      (c) => c.includes("pg_dumpall") || c.includes("cp -p") || c.includes("docker stop"),
    );
    expect(changes[0]).toContain(`docker exec postgres_ems_system pg_dumpall -U postgres`);
    expect(changes[0]).toMatch(/out=\/root\/ems_system\/data\/backups\/cluster_\d{8}T\d{6}Z\.sql\.gz/);
    expect(changes[1]).toMatch(
      /from=\/root\/infra\/letsencrypt\/ems_system\.json\nto=\/root\/ems_system\/data\/backups\/ems_system_\d{8}T\d{6}Z\.json/,
    );
    expect(changes.slice(2)).toEqual(stopOrder(legacy).map((n) => C.stop(n, 60)));
    expect(stopOrder(legacy)).toEqual([
      "ems_server_prod",
      "sms_server_prod",
      "traefik",
      "portainer",
      "postgres_ems_system",
    ]);
    expect(calls).toEqual(["up after: nothing running"]);
    // the old containers are kept, stopped, and will not come back on a reboot
    for (const n of stopOrder(legacy)) expect(host.containers.get(n)).toMatchObject({ running: false, policy: "no" });
    expect(log.join("\n")).toMatch(/downtime: \d+(\.\d)? s \(first old container stopped → first API answering 200\)/);
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

  test("the downtime is measured from the first old container stopped to the first API answering 200", async () => {
    const { host, log, deps, options } = setup();
    let stoppedAt = 0;
    let answeredAt = 0;
    const run = host.run.bind(host);
    host.run = async (command, opts) => {
      const r = await run(command, opts);
      if (command === C.stop("ems_server_prod", 60)) stoppedAt = host.clockMs - 1000;
      if (command.startsWith("curl ") && r.stdout === "200" && !answeredAt) answeredAt = host.clockMs;
      return r;
    };
    const result = await runCutover(deps, options);
    expect(result).toMatchObject({ outcome: "migrated", downtimeSeconds: (answeredAt - stoppedAt) / 1000 });
    expect(log).toContain(
      `downtime: ${(answeredAt - stoppedAt) / 1000} s (first old container stopped → first API answering 200)`,
    );
  });

  test("a failed pulumi up stops the stack's new containers and starts the old ones again, Postgres first, with their restart policies", async () => {
    const { host, log, deps, options } = setup({}, false);
    // what a failed up leaves behind: some new containers running
    host.containers.set("ems_system-postgres", {
      running: true,
      policy: "unless-stopped",
      labels: ["com.ems.environment=production"],
    });
    host.containers.set("ems-1a2b3c", {
      running: true,
      policy: "unless-stopped",
      labels: ["com.ems.environment=production"],
    });
    const result = await runCutover(deps, options);

    expect(result).toMatchObject({
      outcome: "rolled-back",
      reason: "pulumi up failed: ems: the container did not become healthy within 120 s",
    });
    expect(running(host)).toEqual([
      "ems_server_prod",
      "portainer",
      "postgres_ems_system",
      "sms_server_prod",
      "traefik",
    ]);
    const starts = host.commands.filter((c) => c.includes("docker start"));
    expect(starts[0]).toBe(C.start("postgres_ems_system", "always"));
    expect(starts.slice(-2)).toEqual([
      C.start("ems_server_prod", "unless-stopped"),
      C.start("sms_server_prod", "unless-stopped"),
    ]);
    // the new Postgres is stopped before the old one opens the volume again
    expect(host.commands.indexOf(C.stopNew("ems_system-postgres"))).toBeLessThan(host.commands.indexOf(starts[0]));
    expect(host.containers.get("traefik")!.policy).toBe("always");
    expect(log).toContain("FAILED: pulumi up failed: ems: the container did not become healthy within 120 s");
    expect(log.at(-1)).toMatch(
      /^undone: the old compose system runs again \(postgres_ems_system, traefik, portainer, ems_server_prod, sms_server_prod\)/,
    );
  });

  test("an API that never answers its health gate (Traefik routes nothing) is undone the same way; old APIs with the same label are never stopped by the undo", async () => {
    const { host, log, deps, options } = setup();
    host.health = () => "404";
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("rolled-back");
    expect(log).toContain(
      "FAILED: ems did not answer its health gate at https://api.ems.edumigsoft.com.br/api/v1/health: HTTP 404",
    );
    expect(running(host)).toEqual([
      "ems_server_prod",
      "portainer",
      "postgres_ems_system",
      "sms_server_prod",
      "traefik",
    ]);
    expect(host.commands.filter((c) => c === C.stopNew("ems_server_prod"))).toEqual([]);
    // the probe is bounded: 30 s at one probe every 2 s
    expect(host.commands.filter((c) => c.startsWith("curl ")).length).toBeLessThanOrEqual(16);
  });

  test("the undo finds a new Postgres on the data volume even without outputs or labels, and stops it before the old one starts", async () => {
    const { host, log, deps, options } = setup({}, false);
    // a first `pulumi up` that failed: no outputs yet, and a container without the stack's label
    deps.outputs = async () => {
      throw new Error('stack prod has no output "containers"');
    };
    host.containers.set("ems_system-postgres", { running: true, policy: "unless-stopped", labels: [], volume: true });
    host.containers.set("infra_traefik", { running: true, policy: "unless-stopped", labels: [], ports: true });
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("rolled-back");
    expect(host.containers.get("ems_system-postgres")!.running).toBe(false);
    expect(host.containers.get("infra_traefik")!.running).toBe(false);
    expect(host.commands.indexOf(C.stopNew("ems_system-postgres"))).toBeLessThan(
      host.commands.indexOf(C.start("postgres_ems_system", "always")),
    );
    expect(log).toContain(
      'undo: no stack outputs (stack prod has no output "containers"): finding the new containers by label, data volume and ports',
    );
  });

  test("when the new Postgres cannot be stopped, the old one is NOT started on the same volume, and the command says so", async () => {
    const { host, log, deps, options } = setup({}, false);
    host.containers.set("ems_system-postgres", {
      running: true,
      policy: "unless-stopped",
      labels: [],
      volume: true,
      stuck: true,
    });
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("undo-failed");
    expect(host.containers.get("postgres_ems_system")!.running).toBe(false);
    expect(host.commands.some((c) => c.includes("docker start"))).toBe(false);
    expect(log.join("\n")).toContain(
      "ems_system-postgres still use postgres_ems_system_data; the old Postgres is NOT started (two servers on one data folder corrupt it)",
    );
  });

  test("a failed dump stops nothing", async () => {
    const { host, calls, deps, options } = setup();
    host.dumpFails = true;
    const result = await runCutover(deps, options);
    expect(result.outcome).toBe("refused");
    expect(host.commands.filter((c) => c.includes("docker stop") || c.includes("docker update"))).toEqual([]);
    expect(calls).toEqual([]);
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
          [P.engine, P.containers, P.crontab].includes(c) || c.includes("pg_database_size") || c.includes("df -Pk"),
      ),
    ).toBe(true);
    expect(calls).toEqual([]);
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    const { host, log, calls, deps, options } = setup({ dryRun: true, replaceCron: true });
    expect((await runCutover(deps, options)).outcome).toBe("planned");
    expect(log.join("\n")).toContain(
      "3. stop (not remove), restart policy set to no: ems_server_prod, sms_server_prod, traefik, portainer, postgres_ems_system",
    );
    expect(running(host)).toEqual([
      "ems_server_prod",
      "portainer",
      "postgres_ems_system",
      "sms_server_prod",
      "traefik",
    ]);
    expect(calls).toEqual([]);
  });

  test("a second run finds no old container running and says there is nothing to migrate", async () => {
    const { host, log, calls, deps, options } = setup();
    expect((await runCutover(deps, options)).outcome).toBe("migrated");
    const commandsBefore = host.commands.length;
    log.length = 0;
    calls.length = 0;
    expect((await runCutover(deps, options)).outcome).toBe("nothing-to-migrate");
    expect(log.join("\n")).toContain("nothing to migrate: no container of the old compose system is running");
    expect(calls).toEqual([]);
    expect(host.commands.slice(commandsBefore).filter((c) => /docker (stop|start|update)|pg_dumpall/.test(c))).toEqual(
      [],
    );
  });

  test("the old cron line is reported, and removed with --replace-cron", async () => {
    const first = setup();
    await runCutover(first.deps, first.options);
    expect(first.log).toContain(
      'preflight: old backup cron line(s): "0 2 * * * /root/ems_system/data/backups/backup.sh"',
    );
    expect(first.host.crontab).toBe("0 2 * * * /root/ems_system/data/backups/backup.sh\n");

    const second = setup({ replaceCron: true });
    second.host.crontab = "0 2 * * * /root/ems_system/data/backups/backup.sh\n*/5 * * * * /usr/local/bin/other\n";
    await runCutover(second.deps, second.options);
    expect(second.host.crontab).toBe("*/5 * * * * /usr/local/bin/other\n");
  });

  test("Postgres stopped while its APIs run is refused: there would be nothing to dump", async () => {
    const { host, log, deps, options } = setup();
    host.containers.get("postgres_ems_system")!.running = false;
    expect((await runCutover(deps, options)).outcome).toBe("refused");
    expect(log.at(-1)).toBe(
      "preflight: REFUSED: postgres_ems_system is not running while ems_server_prod, sms_server_prod, traefik, portainer are: start it (docker start postgres_ems_system) so the databases can be dumped, then run again",
    );
  });
});

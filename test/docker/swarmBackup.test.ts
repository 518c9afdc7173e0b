/**
 * The swarm backup job's own commands (components/backup.ts, `postgresRunsAs: "swarm-service"`) on a REAL engine in
 * swarm mode: a private dockerd started by this test (testkit/swarm/engine.ts), never the machine's engine. Postgres
 * runs as a Swarm service (the PostgreSQL 15 stand-in image), so its container has a generated task name: the
 * commands find it by the service's label, as on the database node. backup.sh and restore.sh are the files the
 * job installs (components/scripts), run by `sh -c` exactly as cron and `npm run backup`/`restore` run them.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { backupRunCommand, restoreCommandPrefix } from "../../components/backup";
import { hostCheckCommand } from "../../ops/hostCommands/hostCheck";
import { swarmSpecCommand } from "../../ops/hostCommands/swarm";
import { parseSwarmSpecs, specDifferences } from "../../ops/swarmDrift";
import type { HostExpectations } from "../../stacks/hostExpectations";
import { buildTestImages, IMAGES, PrivateEngine, privateEngineUnavailable, PROD_BACKUP } from "../support";

const reason = privateEngineUnavailable();
if (reason && process.env.CI === "true") throw new Error(`the swarm tests need a private dockerd: ${reason}`);
const describeSwarm = reason ? describe.skip : describe;

const SERVICE = "ems_system-postgres";

describeSwarm("the backup job on a swarm's database node, into the Postgres task found by its label", () => {
  const engine = new PrivateEngine("swarm-backup");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ems-swarm-backup-"));
  // The job's folders under a temp folder; the scripts are the ones it installs.
  const args = {
    ...PROD_BACKUP,
    postgresRunsAs: "swarm-service" as const,
    backupDir: path.join(work, "backups"),
    scriptsDir: path.join(__dirname, "../../components/scripts"),
  };
  const hostShell = (command: string) =>
    spawnSync("sh", ["-c", command], { env: engine.env, encoding: "utf8", timeout: 120_000 });
  const psql = (sql: string, db = "postgres") =>
    engine.docker([
      "exec",
      engine.docker(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${SERVICE}`]).split("\n")[0],
      "psql",
      "-U",
      "postgres",
      "-X",
      "-Atq",
      "-v",
      "ON_ERROR_STOP=1",
      "-d",
      db,
      "-c",
      sql,
    ]);

  async function waitReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < end) {
      try {
        if (psql("SELECT 1") === "1") return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`the Postgres task never answered: ${last}`);
  }

  beforeAll(async () => {
    buildTestImages();
    await engine.start();
    engine.docker(["swarm", "init", "--advertise-addr", engine.address]);
    engine.loadImages([IMAGES.postgres]);
    engine.docker([
      "service",
      "create",
      "--detach",
      "--name",
      SERVICE,
      "--env",
      "POSTGRES_USER=postgres",
      "--env",
      "POSTGRES_PASSWORD=bootstrap-Password-0123",
      IMAGES.postgres,
    ]);
    await waitReady(90_000);
    psql("CREATE DATABASE ems_production");
    psql(
      "CREATE TABLE schools (name text); INSERT INTO schools SELECT 'escola ' || g FROM generate_series(1, 100) g",
      "ems_production",
    );
  }, 180_000);

  afterAll(() => {
    engine.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }, 120_000);

  test("the task's container has a generated name: the label finds it, not the service's name", () => {
    const names = engine.docker(["ps", "--format", "{{.Names}}"]).split("\n");
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(new RegExp(`^${SERVICE}\\.1\\.[a-z0-9]{25}$`));
  });

  test("backup: the job's command dumps every database and the globals from the task", () => {
    const r = hostShell(backupRunCommand(args, SERVICE));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const files = fs.readdirSync(args.backupDir).sort();
    expect(files).toEqual([
      expect.stringMatching(/^ems_production_\d{8}T\d{6}Z\.dump$/),
      expect.stringMatching(/^ems_production_\d{8}T\d{6}Z\.rows$/),
      expect.stringMatching(/^globals_\d{8}T\d{6}Z\.sql$/),
    ]);
    expect(fs.readFileSync(path.join(args.backupDir, files[0])).subarray(0, 5).toString()).toBe("PGDMP");
    expect(fs.readFileSync(path.join(args.backupDir, files[1]), "utf8")).toBe("public.schools\t100\n");
  }, 120_000);

  test("restore: the job's restore command brings a dropped table back into the task", () => {
    const dump = fs.readdirSync(args.backupDir).find((f) => f.endsWith(".dump"))!;
    psql("DROP TABLE schools", "ems_production");
    const r = hostShell(`${restoreCommandPrefix(args, SERVICE)} ${path.join(args.backupDir, dump)}`);
    expect(r.status).toBe(0);
    expect(psql("SELECT count(*) FROM schools", "ems_production")).toBe("100");
  }, 120_000);

  /** What `npm run drift` checks on the database node (stacks/swarmOps.ts makes it), this test's database included. */
  const expectations = (): HostExpectations => ({
    folders: [{ path: args.backupDir }],
    postgres: {
      container: SERVICE,
      runsAs: "swarm-service",
      superuser: "postgres",
      roles: ["postgres"],
      databases: [
        { name: "ems_production", owner: "postgres" },
        { name: "sms_production", owner: "sms_user" },
      ],
    },
  });

  test("drift: the host check reads the roles and databases in the task found by its label (--postgres-service)", () => {
    const r = hostShell(hostCheckCommand(expectations()));
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 1,
      stdout: "database sms_production: missing\n",
      stderr: "",
    });
  });

  test("drift: the service's replica count and image as the manager prints them; a scaled or missing one is named", () => {
    const specs = parseSwarmSpecs(hostShell(swarmSpecCommand([SERVICE, "ems_system-gone"])).stdout);
    expect(specs.get(SERVICE)?.replicas).toBe("1");
    expect(specs.get(SERVICE)?.image.split("@")[0]).toBe(IMAGES.postgres);
    expect(specs.get("ems_system-gone")).toEqual({ replicas: "missing", image: "" });
    const outputs = (replicas: number) => ({
      containers: { postgres: SERVICE, gone: "ems_system-gone" },
      images: {},
      swarm: { nodes: [], replicas: { postgres: replicas } },
    });
    expect(specDifferences(outputs(1), specs)).toEqual(["service gone (ems_system-gone): missing"]);
    expect(specDifferences(outputs(2), specs)).toEqual([
      `service gone (ems_system-gone): missing`,
      `service postgres (${SERVICE}): replicas 1, want 2`,
    ]);
  });

  test("no task on this node: the run fails naming the service, and leaves no dump under a final name", () => {
    const before = fs.readdirSync(args.backupDir).sort();
    engine.docker(["service", "scale", "--detach", `${SERVICE}=0`]);
    const end = Date.now() + 60_000;
    while (engine.docker(["ps", "-q"]) !== "" && Date.now() < end) spawnSync("sleep", ["1"]);
    const r = hostShell(backupRunCommand(args, SERVICE));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`no-running-task-of-${SERVICE}-on-this-node`);
    expect(fs.readdirSync(args.backupDir).sort()).toEqual(before);
  }, 120_000);

  test("no task on this node: drift's check of the roles cannot run and says why (exit 2, never a false clean)", () => {
    const r = hostShell(hostCheckCommand(expectations()));
    expect(r.status).toBe(2);
    expect(r.stdout).toContain(`roles: cannot query no-running-task-of-${SERVICE}-on-this-node`);
  });
});

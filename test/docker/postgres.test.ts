/**
 * The Postgres container exactly as the program specifies it (env, named volume, internal network and
 * alias, pg_isready healthcheck, memory, shm, hardening, log rotation), the program's databases command
 * (`docker exec -i <container> sh -s` fed ensure-databases.sh), and backup.sh/restore.sh through
 * `docker exec`, run on a real Docker engine with only the image replaced by ems-test/postgres:15 (the
 * host's PostgreSQL 15 behind an entrypoint that honours POSTGRES_USER/POSTGRES_PASSWORD/PGDATA like the
 * official image). The tests run in order and build on each other: one server, one volume.
 */
import * as fs from "fs";
import * as path from "path";
import { pgExec } from "../../components/backup";
import { T } from "../support/stackHarness";
import {
  buildTestImages,
  check,
  describeWithDocker,
  docker,
  DockerScratch,
  IMAGES,
  inspect,
  run,
  waitForHealth,
} from "../support/dockerEngine";
import { devSpecs, envs } from "./specs";

const SCRIPTS = path.resolve(__dirname, "../../components/scripts");

describeWithDocker("Postgres container on a real Docker engine", () => {
  const scratch = new DockerScratch("pg");
  let spec: Record<string, any> = {};
  let emsSpec: Record<string, any> = {};
  let databasesCommand: { create: string; stdin: string; interpreter: string[] } = { create: "", stdin: "", interpreter: [] };
  let deleteBeforeReplace: boolean | undefined;
  let backup: { keepDaily: number; keepWeekly: number } = { keepDaily: 0, keepWeekly: 0 };
  let user = "";
  let network = "";
  let volume = "";
  let container = "";

  /** psql as the superuser inside the container, over its unix socket. */
  const psql = (sql: string, db = "postgres") =>
    docker(["exec", "-i", "-e", `PGUSER=${user}`, container, "psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], { input: sql });

  /** The program's databases command, as the command provider runs it: interpreter + create, stdin fed. */
  const runDatabasesCommand = () => {
    expect(databasesCommand.create).toBe(`docker exec -i ${spec.name} sh -s`);
    const create = databasesCommand.create.replace(` ${spec.name} `, ` ${container} `);
    const [shell, ...shellArgs] = databasesCommand.interpreter;
    return check(run(shell, [...shellArgs, create], { input: databasesCommand.stdin }), create);
  };

  beforeAll(async () => {
    buildTestImages();
    const dev = await devSpecs();
    spec = dev.inputs(T.container, "postgres");
    emsSpec = dev.inputs(T.container, "ems");
    deleteBeforeReplace = dev.resource(T.container, "postgres").opts.deleteBeforeReplace;
    const cmd = dev.inputs(T.localCommand, "postgres-databases");
    databasesCommand = { create: cmd.create, stdin: cmd.stdin, interpreter: cmd.interpreter };
    backup = dev.run.config.backup as any;
    user = envs(spec).POSTGRES_USER;

    network = scratch.network(dev.networkNamed(spec.networksAdvanced[0].name));
    volume = scratch.volume(dev.inputs(T.volume, "postgres-data"));
    expect(spec.mounts).toEqual([{ type: "volume", source: dev.inputs(T.volume, "postgres-data").name, target: envs(spec).PGDATA }]);
    container = scratch.start(spec, IMAGES.postgres);
  }, 180_000);

  afterAll(() => scratch.cleanup(), 60_000);

  test("it becomes healthy through its pg_isready healthcheck", async () => {
    const health = await waitForHealth(container, "healthy", 60_000);
    expect(health.Log.at(-1)?.Output).toContain("accepting connections");
    const info = inspect(container);
    expect(info.Config.Healthcheck.Test).toEqual(spec.healthcheck.tests);
    expect(info.HostConfig.Memory).toBe(spec.memory * 1024 * 1024);
    expect(info.HostConfig.ShmSize).toBe(spec.shmSize * 1024 * 1024);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
    expect(info.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: volume, Destination: "/var/lib/postgresql/data" })]);
  }, 70_000);

  test("it publishes no port and sits only on the internal network", () => {
    expect(docker(["port", container])).toBe("");
    expect(inspect(container).HostConfig.PortBindings ?? {}).toEqual({});
    expect(Object.keys(inspect(container).NetworkSettings.Networks)).toEqual([network]);
    const net = inspect(network, "network");
    expect(net.Internal).toBe(true);
    expect(Object.values(net.Containers).map((c: any) => c.Name)).toEqual([container]);
  });

  test("the program's databases command creates ems and sms, and a second run changes nothing", () => {
    const first = runDatabasesCommand();
    // Like the official image, the entrypoint created POSTGRES_DB (default: POSTGRES_USER, i.e. ems) on init.
    expect(first.stdout.split("\n").filter(Boolean)).toEqual([
      "ensure-databases: ems exists",
      "ensure-databases: created sms",
      `ensure-databases: password of role ${user} updated`,
    ]);
    const databases = () => psql("SELECT datname || ':' || oid FROM pg_database WHERE NOT datistemplate ORDER BY datname");
    const before = databases();
    expect(before.split("\n").map((l) => l.split(":")[0])).toEqual(["ems", "postgres", "sms"]);

    const second = runDatabasesCommand();
    expect(second.stdout).toContain("ensure-databases: ems exists");
    expect(second.stdout).toContain("ensure-databases: sms exists");
    expect(second.stdout).not.toContain("created");
    expect(databases()).toBe(before);
    // The secrets stay out of the output: the initdb bootstrap password and the role's real one (the APIs').
    const output = first.stdout + first.stderr + second.stdout + second.stderr;
    expect(output).not.toContain(envs(spec).POSTGRES_PASSWORD);
    expect(output).not.toContain(envs(emsSpec).DB_PASSWORD);
  });

  test("an API on the internal network reaches it with its DB_* settings and the password set by the databases command", () => {
    // Not the password initdb was given: the databases command replaced it.
    expect(envs(emsSpec).DB_PASSWORD).not.toBe(envs(spec).POSTGRES_PASSWORD);
    const env = envs(emsSpec);
    expect(env.DB_HOST).toBe(spec.name);
    const r = run("docker", [
      "run", "--rm", "--network", network, "-e", `PGPASSWORD=${env.DB_PASSWORD}`, IMAGES.postgres,
      "psql", "-X", "-At", "-h", scratch.rename(env.DB_HOST), "-p", env.DB_PORT, "-U", env.DB_USER, "-d", env.DB_NAME,
      "-c", "SELECT current_user || '@' || current_database() || ' tcp=' || (inet_server_addr() IS NOT NULL)",
    ]);
    expect(check(r, "psql over the network").stdout.trim()).toBe(`${env.DB_USER}@${env.DB_NAME} tcp=true`);
    const wrong = run("docker", [
      "run", "--rm", "--network", network, "-e", "PGPASSWORD=wrong", IMAGES.postgres,
      "psql", "-X", "-h", "postgres", "-U", env.DB_USER, "-d", env.DB_NAME, "-c", "SELECT 1",
    ]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain("password authentication failed");
  });

  test("the data outlives the container: a replacement on the same volume finds the rows", async () => {
    psql("CREATE TABLE probe (id int PRIMARY KEY, note text); INSERT INTO probe SELECT g, 'row ' || g FROM generate_series(1, 100) g;", "ems");
    psql("CREATE TABLE sms_probe (id int); INSERT INTO sms_probe VALUES (1), (2);", "sms");

    // The program replaces the container delete-before-replace: the old server stops before the new one
    // mounts the volume, so two servers never share it.
    expect(deleteBeforeReplace).toBe(true);
    scratch.remove(container, spec.destroyGraceSeconds);
    expect(docker(["ps", "-a", "-q", "--filter", `volume=${volume}`])).toBe("");
    container = scratch.start(spec, IMAGES.postgres);
    expect(docker(["ps", "-a", "-q", "--filter", `volume=${volume}`]).split("\n")).toHaveLength(1);
    await waitForHealth(container, "healthy", 60_000);

    expect(docker(["logs", container])).not.toContain("entrypoint: initialised");
    expect(psql("SELECT count(*), max(note) FROM probe", "ems")).toBe("100|row 99");
    expect(psql("SELECT count(*) FROM sms_probe", "sms")).toBe("2");
    expect(runDatabasesCommand().stdout).not.toContain("created");
  }, 100_000);

  test("backup.sh dumps ems and sms through docker exec; restore.sh brings a dropped table back", () => {
    const backupDir = path.join(scratch.dir("backups"), "backups");
    const env = {
      ...process.env,
      BACKUP_DIR: backupDir,
      KEEP_DAILY: String(backup.keepDaily),
      KEEP_WEEKLY: String(backup.keepWeekly),
      // The program's prefix (components/backup.ts): psql/pg_dump run in the server's container as POSTGRES_USER.
      PG_EXEC: pgExec(container, user),
    };
    const b = check(run("sh", [path.join(SCRIPTS, "backup.sh")], { env }), "backup.sh");
    const files = fs.readdirSync(backupDir).sort();
    expect(files).toEqual([
      expect.stringMatching(/^ems_\d{8}T\d{6}Z\.dump$/),
      expect.stringMatching(/^globals_\d{8}T\d{6}Z\.sql$/),
      expect.stringMatching(/^sms_\d{8}T\d{6}Z\.dump$/),
    ]);
    for (const f of files.filter((f) => f.endsWith(".dump"))) {
      expect(fs.readFileSync(path.join(backupDir, f)).subarray(0, 5).toString()).toBe("PGDMP");
    }
    expect(b.stdout).toContain("retention:");

    psql("DROP TABLE probe", "ems");
    expect(psql("SELECT count(*) FROM pg_tables WHERE tablename = 'probe'", "ems")).toBe("0");
    const dump = path.join(backupDir, files[0]);
    const r = check(run("sh", [path.join(SCRIPTS, "restore.sh"), dump], { env }), "restore.sh");
    expect(r.stdout).toContain(`restored ${dump} into ems`);
    expect(psql("SELECT count(*), max(note) FROM probe", "ems")).toBe("100|row 99");
    expect(psql("SELECT count(*) FROM sms_probe", "sms")).toBe("2");
  }, 60_000);
});

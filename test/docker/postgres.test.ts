/**
 * The Postgres container exactly as the program specifies it (env, bootstrap password upload, named volume,
 * internal network and alias, TCP pg_isready healthcheck, memory, shm, stop timeout, hardening, log
 * rotation), created through the Engine API as the provider does (uploads have no CLI form), with only the
 * image replaced by ems-test/postgres:15 (the host's PostgreSQL 15 behind an entrypoint that honours
 * POSTGRES_USER/POSTGRES_PASSWORD_FILE/PGDATA like the official image). Then the program's databases command
 * (`docker exec -i <container> sh -s` fed ensureDatabasesInput), the APIs' own roles from a container on the
 * internal network, a replacement on the same volume, and backup.sh/restore.sh through `docker exec`.
 * The dev stack runs with the production database names (ems_production, sms_production).
 * The tests run in order and build on each other: one server, one volume.
 */
import * as fs from "fs";
import * as path from "path";
import { pgExec } from "../../components/backup";
import { SECRETS_ENV_PATH } from "../../components/probe";
import {
  buildTestImages,
  check,
  committedConfig,
  describeWithDocker,
  docker,
  DockerScratch,
  IMAGES,
  inspect,
  run,
  T,
  waitForHealth,
} from "../support";
import { DevSpecs, devSpecs, envs } from "./specs";

/** A container spec as the program registered it (resolved inputs). */
type Spec = ReturnType<DevSpecs["inputs"]>;

const SCRIPTS = path.resolve(__dirname, "../../components/scripts");
const PROJECT = "ems-infra";

/** The dev stack's services with the production databases, as on the VPS. */
function productionDatabases(): Record<string, string> {
  const services = JSON.parse(committedConfig("dev")[`${PROJECT}:services`]);
  for (const name of Object.keys(services)) services[name].database = `${name}_production`;
  return { [`${PROJECT}:services`]: JSON.stringify(services) };
}

/** `NAME=value` lines of the secrets file ems-run loads in an API container (its `uploads`). */
function uploadedSecrets(apiSpec: Spec): Record<string, string> {
  const file = (apiSpec.uploads as { file: string; content?: string }[]).find((u) => u.file === SECRETS_ENV_PATH);
  if (!file?.content) throw new Error(`no ${SECRETS_ENV_PATH} upload in ${apiSpec.name ?? "the API spec"}`);
  return Object.fromEntries(
    file.content
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

interface Api {
  /** DB_* settings of the API's Env. */
  env: Record<string, string>;
  /** Its DB_PASS, from the uploaded secrets file. */
  password: string;
}

describeWithDocker("Postgres container on a real Docker engine", () => {
  const scratch = new DockerScratch("pg");
  let spec: Spec = {};
  const apis: Record<"ems" | "sms", Api> = { ems: { env: {}, password: "" }, sms: { env: {}, password: "" } };
  let databasesCommand: { create: string; stdin: string; interpreter: string[] } = {
    create: "",
    stdin: "",
    interpreter: [],
  };
  let deleteBeforeReplace: boolean | undefined;
  let backup: { keepDaily: number; keepWeekly: number } = { keepDaily: 0, keepWeekly: 0 };
  let user = "";
  let bootstrapPassword = "";
  let network = "";
  let volume = "";
  let container = "";

  /** psql as the superuser inside the container, over its unix socket. */
  const psql = (sql: string, db = "postgres") =>
    docker(
      ["exec", "-i", "-e", `PGUSER=${user}`, container, "psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1", "-d", db],
      { input: sql },
    );

  /** The program's databases command, as the command provider runs it: interpreter + create, stdin fed. */
  const runDatabasesCommand = () => {
    expect(databasesCommand.create).toBe(`docker exec -i ${spec.name} sh -s`);
    const create = databasesCommand.create.replace(` ${spec.name} `, ` ${container} `);
    const [shell, ...shellArgs] = databasesCommand.interpreter;
    return check(run(shell, [...shellArgs, create], { input: databasesCommand.stdin, timeoutMs: 60_000 }), create);
  };

  /** psql over TCP from another container on the internal network, as an API connects: "ok:<output>" or the refusal. */
  const fromNetwork = (
    login: { user: string; password: string; database: string; host?: string },
    sql: string,
  ): string => {
    const r = run(
      "docker",
      [
        "run",
        "--rm",
        "-i",
        "--network",
        network,
        "-e",
        "PGPASSWORD",
        "-e",
        "PGCONNECT_TIMEOUT=10",
        IMAGES.postgres,
        "psql",
        "-X",
        "-Atq",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        login.host ?? container,
        "-p",
        apis.ems.env.DB_PORT,
        "-U",
        login.user,
        "-d",
        login.database,
      ],
      { input: sql, env: { ...process.env, PGPASSWORD: login.password }, timeoutMs: 60_000 },
    );
    return r.status === 0 ? `ok:${r.stdout.trim()}` : r.stderr.trim();
  };
  const asApi = (svc: "ems" | "sms", sql: string, database = apis[svc].env.DB_NAME) =>
    fromNetwork(
      {
        user: apis[svc].env.DB_USER,
        password: apis[svc].password,
        database,
        host: scratch.rename(apis[svc].env.DB_HOST),
      },
      sql,
    );

  beforeAll(async () => {
    buildTestImages();
    const dev = await devSpecs(productionDatabases());
    spec = dev.inputs(T.container, "postgres");
    for (const svc of ["ems", "sms"] as const) {
      const apiSpec = dev.inputs(T.container, svc);
      apis[svc] = { env: envs(apiSpec), password: uploadedSecrets(apiSpec).DB_PASS };
    }
    deleteBeforeReplace = dev.resource(T.container, "postgres").opts.deleteBeforeReplace;
    const cmd = dev.inputs(T.localCommand, "postgres-databases");
    databasesCommand = { create: cmd.create, stdin: cmd.stdin, interpreter: cmd.interpreter };
    backup = dev.run.config.backup as typeof backup;
    user = envs(spec).POSTGRES_USER;
    bootstrapPassword =
      (spec.uploads as { file: string; content: string }[]).find((u) => u.file === envs(spec).POSTGRES_PASSWORD_FILE)
        ?.content ?? "";
    expect(bootstrapPassword).toMatch(/^\S{16,}$/);

    network = scratch.network(dev.networkNamed(spec.networksAdvanced[0].name));
    volume = scratch.volume(dev.inputs(T.volume, "postgres-data"));
    expect(spec.mounts).toEqual([
      { type: "volume", source: dev.inputs(T.volume, "postgres-data").name, target: envs(spec).PGDATA },
    ]);
    container = await scratch.create(spec, IMAGES.postgres);
  }, 180_000);

  afterAll(() => scratch.cleanup(), 60_000);

  test("it becomes healthy through its TCP pg_isready healthcheck, with the program's limits", async () => {
    const health = await waitForHealth(container, "healthy", 90_000);
    expect(health.Log.at(-1)?.Output).toContain("127.0.0.1:5432 - accepting connections");
    const info = inspect(container);
    expect(info.Config.Healthcheck.Test).toEqual(["CMD-SHELL", `pg_isready -h 127.0.0.1 -U ${user} -d postgres`]);
    expect(info.HostConfig.Memory).toBe(spec.memory * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(spec.memorySwap * 1024 * 1024);
    expect(info.HostConfig.ShmSize).toBe(spec.shmSize * 1024 * 1024);
    expect(info.Config.StopTimeout).toBe(60);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
    expect(info.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(info.Mounts).toEqual([
      expect.objectContaining({ Type: "volume", Name: volume, Destination: "/var/lib/postgresql/data" }),
    ]);
    // initdb took the bootstrap password from the uploaded file.
    expect(docker(["logs", container])).toContain(
      `entrypoint: initialised /var/lib/postgresql/data (superuser ${user}`,
    );
  }, 100_000);

  test("right after it turns healthy, psql over the unix socket works (what the databases command uses)", () => {
    expect(psql("SELECT current_setting('unix_socket_directories') || ' ' || current_user")).toBe(
      `/var/run/postgresql ${user}`,
    );
  });

  test("docker inspect shows no password: the bootstrap one is a file, the others never reach the container", () => {
    const inspected = JSON.stringify(inspect(container));
    expect(inspect(container).Config.Env).toEqual(
      expect.arrayContaining([`POSTGRES_USER=${user}`, "POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password"]),
    );
    expect(inspect(container).Config.Env.filter((e: string) => /PASSWORD=|PASS=/.test(e))).toEqual([]);
    for (const secret of [bootstrapPassword, apis.ems.password, apis.sms.password])
      expect(inspected).not.toContain(secret);
  });

  test("it publishes no port and sits only on the internal network", () => {
    expect(docker(["port", container])).toBe("");
    expect(inspect(container).HostConfig.PortBindings ?? {}).toEqual({});
    expect(Object.keys(inspect(container).NetworkSettings.Networks)).toEqual([network]);
    const net = inspect(network, "network");
    expect(net.Internal).toBe(true);
    expect(Object.values(net.Containers as Record<string, { Name: string }>).map((c) => c.Name)).toEqual([container]);
  });

  test("the program's databases command creates each service's role and database; a second run changes nothing", () => {
    const first = runDatabasesCommand();
    expect(first.stderr).toBe("");
    expect(first.stdout.split("\n").filter(Boolean)).toEqual([
      `ensure-databases: password of role ${user} updated`,
      "ensure-databases: created role ems_user",
      "ensure-databases: password of role ems_user updated",
      "ensure-databases: created ems_production owned by ems_user",
      "ensure-databases: ems_production: only ems_user (and the superuser) may connect",
      "ensure-databases: created role sms_user",
      "ensure-databases: password of role sms_user updated",
      "ensure-databases: created sms_production owned by sms_user",
      "ensure-databases: sms_production: only sms_user (and the superuser) may connect",
    ]);
    const databases = () =>
      psql(
        "SELECT datname || ':' || pg_get_userbyid(datdba) || ':' || oid FROM pg_database WHERE NOT datistemplate ORDER BY datname",
      );
    const before = databases();
    expect(before.split("\n").map((l) => l.split(":").slice(0, 2).join(":"))).toEqual([
      "ems_production:ems_user",
      "postgres:postgres",
      "sms_production:sms_user",
    ]);

    const second = runDatabasesCommand();
    expect(second.stdout).toContain("ensure-databases: ems_production exists");
    expect(second.stdout).toContain("ensure-databases: role sms_user exists");
    expect(second.stdout).not.toContain("created");
    expect(databases()).toBe(before);
    const output = first.stdout + first.stderr + second.stdout + second.stderr;
    for (const secret of [bootstrapPassword, apis.ems.password, apis.sms.password])
      expect(output).not.toContain(secret);
  });

  test("each API's env names its own role, never the superuser, and holds no password", () => {
    for (const svc of ["ems", "sms"] as const) {
      const env = apis[svc].env;
      expect(env).toMatchObject({
        DB_HOST: spec.name,
        DB_PORT: "5432",
        DB_USER: `${svc}_user`,
        DB_NAME: `${svc}_production`,
      });
      expect(env.DB_USER).not.toBe(user);
      expect(Object.keys(env).filter((k) => /PASS/.test(k))).toEqual([]);
      expect(apis[svc].password).toMatch(/^\S{16,}$/);
    }
    expect(apis.ems.password).not.toBe(apis.sms.password);
    expect(databasesCommand.stdin).toContain("SERVICE_ROLES='ems_user:ems_production sms_user:sms_production'");
  });

  test("from the internal network, ems_user reaches ems_production with its DB_PASS and nothing else", () => {
    expect(
      asApi(
        "ems",
        "CREATE TABLE schools (id int PRIMARY KEY, name text); INSERT INTO schools SELECT g, 'escola ' || g FROM generate_series(1, 100) g; SELECT current_user || '@' || current_database() || ' ' || count(*) FROM schools;",
      ),
    ).toBe("ok:ems_user@ems_production 100");
    expect(asApi("ems", "SELECT 1", "sms_production")).toMatch(/permission denied for database "sms_production"/);
    expect(asApi("sms", "SELECT 1", "ems_production")).toMatch(/permission denied for database "ems_production"/);
    expect(
      asApi(
        "sms",
        "CREATE TABLE students (id int); INSERT INTO students VALUES (1), (2); SELECT count(*) FROM students;",
      ),
    ).toBe("ok:2");
    // Through the network alias too, and the wrong password or the bootstrap one is refused.
    expect(
      fromNetwork(
        { user: "ems_user", password: apis.ems.password, database: "ems_production", host: "postgres" },
        "SELECT count(*) FROM schools",
      ),
    ).toBe("ok:100");
    expect(
      fromNetwork({ user: "ems_user", password: apis.sms.password, database: "ems_production" }, "SELECT 1"),
    ).toMatch(/password authentication failed for user "ems_user"/);
    // The databases command replaced the password initdb gave the superuser.
    expect(fromNetwork({ user, password: bootstrapPassword, database: "postgres" }, "SELECT 1")).toMatch(
      new RegExp(`password authentication failed for user "${user}"`),
    );
    expect(asApi("ems", "CREATE DATABASE stolen")).toMatch(/permission denied to create database/);
  }, 120_000);

  test("the data outlives the container: a replacement on the same volume finds the rows and the roles", async () => {
    // The program replaces the container delete-before-replace: the old server stops before the new one
    // mounts the volume, so two servers never share it.
    expect(deleteBeforeReplace).toBe(true);
    scratch.remove(container, spec.destroyGraceSeconds);
    expect(docker(["ps", "-a", "-q", "--filter", `volume=${volume}`])).toBe("");
    container = await scratch.create(spec, IMAGES.postgres);
    expect(docker(["ps", "-a", "-q", "--filter", `volume=${volume}`]).split("\n")).toHaveLength(1);
    await waitForHealth(container, "healthy", 90_000);

    expect(docker(["logs", container])).not.toContain("entrypoint: initialised");
    expect(runDatabasesCommand().stdout).not.toContain("created");
    expect(asApi("ems", "SELECT count(*) || ' ' || max(name) FROM schools")).toBe("ok:100 escola 99");
    expect(asApi("sms", "SELECT count(*) FROM students")).toBe("ok:2");
  }, 180_000);

  test("backup.sh dumps both databases through docker exec; restore.sh brings a dropped table back, still ems_user's", () => {
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
      expect.stringMatching(/^ems_production_\d{8}T\d{6}Z\.dump$/),
      // The row counts of the dump's own snapshot, counted through the same docker exec (the restore drill's source).
      expect.stringMatching(/^ems_production_\d{8}T\d{6}Z\.rows$/),
      expect.stringMatching(/^globals_\d{8}T\d{6}Z\.sql$/),
      expect.stringMatching(/^sms_production_\d{8}T\d{6}Z\.dump$/),
      expect.stringMatching(/^sms_production_\d{8}T\d{6}Z\.rows$/),
    ]);
    expect(fs.readFileSync(path.join(backupDir, files[1]), "utf8")).toMatch(/^public\.schools\t\d+$/m);
    for (const f of files.filter((f) => f.endsWith(".dump"))) {
      expect(fs.readFileSync(path.join(backupDir, f)).subarray(0, 5).toString()).toBe("PGDMP");
    }
    expect(b.stdout).toContain("retention:");
    expect(fs.readFileSync(path.join(backupDir, files[2]), "utf8")).toMatch(/CREATE ROLE ems_user;/);

    psql("DROP TABLE schools", "ems_production");
    const dump = path.join(backupDir, files[0]);
    const r = check(run("sh", [path.join(SCRIPTS, "restore.sh"), dump], { env }), "restore.sh");
    expect(r.stdout).toContain(`restored ${dump} into ems_production`);
    // The API finds its table again, with its rights.
    expect(asApi("ems", "INSERT INTO schools VALUES (101, 'nova'); SELECT count(*) FROM schools")).toBe("ok:101");
    expect(asApi("sms", "SELECT count(*) FROM students")).toBe("ok:2");
  }, 120_000);
});

/**
 * ensure-databases.sh against a throwaway PostgreSQL server, fed the program's own stdin
 * (`ensureDatabasesInput`: the settings as shell assignments, then the script) to `sh -s`, exactly as the
 * program feeds `docker exec -i <postgres container> sh -s`. Socket = trust (like `docker exec` into the
 * official image), TCP = scram-sha-256, so a login over 127.0.0.1 is the real password check the APIs face.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { ensureDatabasesInput } from "../../components/postgres";
import { readScript } from "../../components/shell";
import { PgServer, postgresSuite, startPostgres } from "../support";

interface Role {
  role: string;
  database: string;
  password: string;
}

/** Hostile on purpose: every character a shell or SQL string could trip on. */
const EMS_PASSWORD = `ems p@ss 'q' "dq" $HOME \`id\` $(id) \\ ;-- %s`;
const SMS_PASSWORD = "sms-Pa55-w0rd_2026";
const SUPERUSER_PASSWORD = `super 'user' $PWD ;`;
const roles = (emsPassword = EMS_PASSWORD, smsPassword = SMS_PASSWORD): Role[] => [
  { role: "ems_user", database: "ems_production", password: emsPassword },
  { role: "sms_user", database: "sms_production", password: smsPassword },
];

/** Feeds `stdin` to `sh -s` in the server's libpq environment (what `docker exec -i ... sh -s` gives it). */
function sh(pg: PgServer, stdin: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync("sh", ["-s"], { input: stdin, env: { ...pg.env, ...env }, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw r.error;
  return r;
}

/** The program's databases command: superuser `postgres`, as on the real VPS. */
const ensure = (pg: PgServer, rs: Role[], superuserPassword = "") =>
  sh(pg, ensureDatabasesInput(pg.user, superuserPassword, rs));

/** psql over TCP as `user`: "ok:<output>" or the server's refusal. */
function tcp(
  pg: PgServer,
  user: string,
  password: string,
  database: string,
  sql = "SELECT current_user || '@' || current_database()",
): string {
  const r = spawnSync("psql", ["-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-d", database], {
    input: sql,
    env: { ...pg.env, PGHOST: pg.tcpHost, PGUSER: user, PGPASSWORD: password },
    encoding: "utf8",
    timeout: 20_000,
  });
  return r.status === 0 ? `ok:${r.stdout.trim()}` : r.stderr.trim();
}

/** Everything the script may have changed: roles and their rights, databases with owner, oid and ACL. */
const catalog = (pg: PgServer) =>
  pg.psql(`
    SELECT 'role ' || rolname || ' super=' || rolsuper || ' createdb=' || rolcreatedb || ' createrole=' || rolcreaterole || ' login=' || rolcanlogin
      FROM pg_roles WHERE rolname IN ('ems_user', 'sms_user', 'postgres')
    UNION ALL
    SELECT 'db ' || datname || ' oid=' || oid || ' owner=' || pg_get_userbyid(datdba) || ' acl=' || coalesce(datacl::text, '')
      FROM pg_database WHERE datname LIKE '%_production'
    ORDER BY 1`);

const { describe } = postgresSuite("ensure-databases.sh against a real PostgreSQL");
const refusedPassword = (user: string) => new RegExp(`password authentication failed for user "${user}"`);
const refusedConnect = (db: string) =>
  new RegExp(`permission denied for database "${db}"|User does not have CONNECT privilege`);

describe("ensure-databases.sh on an empty server", () => {
  let pg: PgServer;
  const outputs: string[] = [];
  const run = (rs: Role[], superuserPassword = "") => {
    const r = ensure(pg, rs, superuserPassword);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    // Every statement of every session is logged: the passwords must still never reach the log.
    pg = await startPostgres({ conf: { log_statement: "'all'" } });
  });
  afterAll(() => pg?.stop());

  test("creates each service's role and database, the database owned by its role", () => {
    const r = run(roles());

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([
      "ensure-databases: created role ems_user",
      "ensure-databases: password of role ems_user updated",
      "ensure-databases: created ems_production owned by ems_user",
      "ensure-databases: ems_production: only ems_user (and the superuser) may connect",
      "ensure-databases: created role sms_user",
      "ensure-databases: password of role sms_user updated",
      "ensure-databases: created sms_production owned by sms_user",
      "ensure-databases: sms_production: only sms_user (and the superuser) may connect",
    ]);
    expect(
      pg
        .psql(
          "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%_production' ORDER BY 1",
        )
        .split("\n"),
    ).toEqual(["ems_production:ems_user", "sms_production:sms_user"]);
  });

  test("ems_user logs in over TCP with its password and creates, writes and reads its own tables", () => {
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production")).toBe("ok:ems_user@ems_production");
    expect(
      tcp(
        pg,
        "ems_user",
        EMS_PASSWORD,
        "ems_production",
        "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'Ana'), (2, 'João'); UPDATE users SET name = 'Ana Maria' WHERE id = 1; SELECT string_agg(name, ',' ORDER BY id) FROM users;",
      ),
    ).toBe("ok:Ana Maria,João");
    expect(
      tcp(
        pg,
        "sms_user",
        SMS_PASSWORD,
        "sms_production",
        "CREATE TABLE messages (id int); INSERT INTO messages VALUES (7); SELECT count(*) FROM messages;",
      ),
    ).toBe("ok:1");
    expect(tcp(pg, "ems_user", "wrong", "ems_production")).toMatch(refusedPassword("ems_user"));
  });

  test("a service cannot connect to the other service's database", () => {
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "sms_production")).toMatch(refusedConnect("sms_production"));
    expect(tcp(pg, "sms_user", SMS_PASSWORD, "ems_production")).toMatch(refusedConnect("ems_production"));
  });

  test("the roles are not superusers and cannot create databases or roles", () => {
    expect(
      pg
        .psql(
          "SELECT rolname || ' ' || rolsuper || rolcreatedb || rolcreaterole || rolreplication || rolbypassrls FROM pg_roles WHERE rolname LIKE '%_user' ORDER BY 1",
        )
        .split("\n"),
    ).toEqual(["ems_user falsefalsefalsefalsefalse", "sms_user falsefalsefalsefalsefalse"]);
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production", "CREATE DATABASE stolen")).toMatch(
      /permission denied to create database/,
    );
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production", "CREATE ROLE intruder LOGIN")).toMatch(
      /permission denied to create role/,
    );
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production", "SELECT count(*) FROM pg_authid")).toMatch(
      /permission denied for table pg_authid/,
    );
  });

  test("a second run creates nothing and changes no role, database, owner or grant", () => {
    const before = catalog(pg);

    const r = run(roles());

    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ensure-databases: role ems_user exists");
    expect(r.stdout).toContain("ensure-databases: sms_production exists");
    expect(r.stdout).not.toContain("created");
    expect(catalog(pg)).toBe(before);
    expect(
      tcp(pg, "ems_user", EMS_PASSWORD, "ems_production", "SELECT string_agg(name, ',' ORDER BY id) FROM users"),
    ).toBe("ok:Ana Maria,João");
  });

  test("rotating ems_user's password lets the new one in and refuses the old; sms_user is unaffected", () => {
    const rotated = "ems-rotated-2026 'x'";
    const r = run(roles(rotated));

    expect(r.status).toBe(0);
    expect(tcp(pg, "ems_user", rotated, "ems_production")).toBe("ok:ems_user@ems_production");
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production")).toMatch(refusedPassword("ems_user"));
    expect(tcp(pg, "sms_user", SMS_PASSWORD, "sms_production")).toBe("ok:sms_user@sms_production");
    // Back to the first password for the tests below.
    expect(run(roles()).status).toBe(0);
  });

  test("SUPERUSER_PASSWORD sets the superuser's password; empty leaves it alone", () => {
    const hash = () => pg.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'");
    expect(tcp(pg, "postgres", pg.password, "postgres")).toBe("ok:postgres@postgres");
    const before = hash();
    expect(run(roles(), "").status).toBe(0);
    expect(hash()).toBe(before);

    const r = run(roles(), SUPERUSER_PASSWORD);

    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("ensure-databases: password of role postgres updated");
    expect(tcp(pg, "postgres", SUPERUSER_PASSWORD, "postgres")).toBe("ok:postgres@postgres");
    expect(tcp(pg, "postgres", pg.password, "postgres")).toMatch(refusedPassword("postgres"));
    // The superuser still reaches every service's database.
    expect(tcp(pg, "postgres", SUPERUSER_PASSWORD, "sms_production", "SELECT count(*) FROM messages")).toBe("ok:1");
  });

  test("no password is printed, nor written to the server log, though it logs every statement", () => {
    const log = fs.readFileSync(pg.logFile, "utf8");
    // Proof that the log does record other sessions' statements.
    expect(log).toContain("SELECT 1 FROM pg_roles WHERE rolname");
    expect(log).toContain("SET log_statement = 'none'");
    // The only ALTER ROLE the log may show is the one taking rights away, never one with a PASSWORD.
    expect(log).not.toMatch(/ALTER ROLE[^\n]*PASSWORD/i);
    const printed = outputs.join("\n");
    for (const secret of [
      EMS_PASSWORD,
      SMS_PASSWORD,
      SUPERUSER_PASSWORD,
      "ems-rotated-2026",
      "ems p@ss",
      "super 'user'",
    ]) {
      expect(log).not.toContain(secret);
      expect(printed).not.toContain(secret);
    }
  });
});

describe("ensure-databases.sh on a server set up like today's VPS", () => {
  let pg: PgServer;
  const OLD_EMS = "old-ems-password";
  const OLD_SMS = "old-sms-password";

  beforeAll(async () => {
    pg = await startPostgres();
    // servers/containers/postgres/README.md at 6fc6f99: databases created by the superuser, one non-superuser
    // role per service with GRANT ALL and default privileges, tables created by the services themselves.
    pg.psql(`
      CREATE ROLE ems_user LOGIN PASSWORD '${OLD_EMS}';
      CREATE ROLE sms_user LOGIN PASSWORD '${OLD_SMS}';
      CREATE DATABASE ems_production;
      CREATE DATABASE sms_production;
      GRANT ALL PRIVILEGES ON DATABASE ems_production TO ems_user;
      GRANT ALL PRIVILEGES ON DATABASE sms_production TO sms_user;`);
    for (const [role, db] of [
      ["ems_user", "ems_production"],
      ["sms_user", "sms_production"],
    ]) {
      pg.psql(
        `GRANT ALL ON SCHEMA public TO ${role}; ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO ${role};`,
        db,
      );
    }
    expect(
      tcp(
        pg,
        "ems_user",
        OLD_EMS,
        "ems_production",
        "CREATE TABLE schools (id serial PRIMARY KEY, name text); INSERT INTO schools (name) SELECT 'escola ' || g FROM generate_series(1, 250) g;",
      ),
    ).toBe("ok:");
    expect(
      tcp(
        pg,
        "sms_user",
        OLD_SMS,
        "sms_production",
        "CREATE TABLE students (id int); INSERT INTO students SELECT generate_series(1, 40);",
      ),
    ).toBe("ok:");
    pg.psql("CREATE TABLE audit (at timestamptz DEFAULT now()); INSERT INTO audit DEFAULT VALUES;", "ems_production");
  });
  afterAll(() => pg?.stop());

  test("keeps every row, table owner and grant, gives each database to its role, and takes over the passwords", () => {
    const owners = () =>
      pg.psql(
        "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%_production' ORDER BY 1",
      );
    const tableRights = () =>
      pg.psql(
        "SELECT tablename || ':' || tableowner || ':' || has_table_privilege('ems_user', 'public.' || tablename, 'SELECT,INSERT,UPDATE,DELETE') FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        "ems_production",
      );
    expect(owners()).toBe("ems_production:postgres\nsms_production:postgres");
    const rightsBefore = tableRights();
    expect(rightsBefore).toBe("audit:postgres:true\nschools:ems_user:true");

    const r = ensure(pg, roles());

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual([
      "ensure-databases: role ems_user exists",
      "ensure-databases: password of role ems_user updated",
      "ensure-databases: ems_production exists, owned by ems_user",
      "ensure-databases: ems_production: only ems_user (and the superuser) may connect",
      "ensure-databases: role sms_user exists",
      "ensure-databases: password of role sms_user updated",
      "ensure-databases: sms_production exists, owned by sms_user",
      "ensure-databases: sms_production: only sms_user (and the superuser) may connect",
    ]);
    // Each role now owns its database, as one created here would; rows, table owners and grants are kept.
    expect(owners()).toBe("ems_production:ems_user\nsms_production:sms_user");
    expect(tableRights()).toBe(rightsBefore);
    // GRANT ALL (CREATE, CONNECT, TEMPORARY) is still there.
    expect(
      pg.psql(
        "SELECT has_database_privilege('ems_user', 'ems_production', 'CREATE') AND has_database_privilege('sms_user', 'sms_production', 'CREATE')",
      ),
    ).toBe("t");

    // The stack's passwords replace the hand-set ones.
    expect(tcp(pg, "ems_user", OLD_EMS, "ems_production")).toMatch(refusedPassword("ems_user"));
    expect(tcp(pg, "sms_user", OLD_SMS, "sms_production")).toMatch(refusedPassword("sms_user"));
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production", "SELECT count(*) || ' ' || max(id) FROM schools")).toBe(
      "ok:250 250",
    );
    expect(
      tcp(
        pg,
        "ems_user",
        EMS_PASSWORD,
        "ems_production",
        "INSERT INTO schools (name) VALUES ('nova'); INSERT INTO audit DEFAULT VALUES; SELECT count(*) FROM schools",
      ),
    ).toBe("ok:251");
    expect(tcp(pg, "sms_user", SMS_PASSWORD, "sms_production", "SELECT count(*) FROM students")).toBe("ok:40");
    // Today PUBLIC may connect anywhere; after the takeover each service reaches only its own database.
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "sms_production")).toMatch(refusedConnect("sms_production"));
    expect(tcp(pg, "sms_user", SMS_PASSWORD, "ems_production")).toMatch(refusedConnect("ems_production"));
  });
});

describe("ensure-databases.sh on a role made by hand with more rights than a service needs", () => {
  let pg: PgServer;
  beforeAll(async () => {
    pg = await startPostgres();
    pg.psql(
      "CREATE ROLE ems_user LOGIN CREATEDB CREATEROLE REPLICATION PASSWORD 'old-ems-password'; CREATE DATABASE ems_production OWNER ems_user;",
    );
  });
  afterAll(() => pg?.stop());

  test("the service's role keeps its login and loses CREATEDB, CREATEROLE and REPLICATION", () => {
    const r = ensure(pg, [{ role: "ems_user", database: "ems_production", password: EMS_PASSWORD }]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(
      pg.psql(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication FROM pg_roles WHERE rolname = 'ems_user'",
      ),
    ).toBe("t|f|f|f|f");
    expect(tcp(pg, "ems_user", EMS_PASSWORD, "ems_production")).toBe("ok:ems_user@ems_production");
  });
});

describe("ensure-databases.sh refuses bad input before changing anything", () => {
  let pg: PgServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.stop());

  /** The script alone on stdin, its settings in the environment (the script's documented interface). */
  const raw = (env: Record<string, string>) =>
    sh(pg, readScript("ensure-databases.sh"), { POSTGRES_USER: pg.user, ...env });
  const nothingCreated = () =>
    pg.psql("SELECT count(*) FROM pg_roles WHERE rolname LIKE '%_user'") +
    "/" +
    pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%_production'");
  const lastLine = (stderr: string) => stderr.trimEnd().split("\n").at(-1);

  test("a pair without ':' is refused by name", () => {
    const r = raw({
      SERVICE_ROLES: "ems_user:ems_production sms_user",
      ROLE_PASSWORD_ems_user: "a",
      ROLE_PASSWORD_sms_user: "b",
    });
    expect(r.status).toBe(1);
    expect(lastLine(r.stderr)).toBe(
      "ensure-databases: FAILED sms_user: expected role:database (lower-case SQL identifiers)",
    );
    expect(r.stdout).toBe("");
    expect(nothingCreated()).toBe("0/0");
  });

  test.each([
    ["a second ':'", "ems_user:ems:production"],
    ["an empty database", "ems_user:"],
    ["an empty role", ":ems_production"],
    ["upper case", "EMS_user:ems_production"],
    ["a quote", `ems"user:ems_production`],
  ])("%s is refused by name", (_what, pair) => {
    const r = raw({ SERVICE_ROLES: pair, [`ROLE_PASSWORD_${pair.split(":")[0]}`]: "a" });
    expect(r.status).toBe(1);
    expect(lastLine(r.stderr)).toBe(
      `ensure-databases: FAILED ${pair}: expected role:database (lower-case SQL identifiers)`,
    );
    expect(nothingCreated()).toBe("0/0");
  });

  test("a role without its ROLE_PASSWORD_<role> is refused by the variable's name, and nothing is created", () => {
    const r = raw({ SERVICE_ROLES: "ems_user:ems_production sms_user:sms_production", ROLE_PASSWORD_ems_user: "a" });
    expect(r.status).toBe(1);
    expect(lastLine(r.stderr)).toBe("ensure-databases: FAILED sms_user: ROLE_PASSWORD_sms_user is not set");
    expect(nothingCreated()).toBe("0/0");
  });

  test("an empty password from the program is refused the same way", () => {
    const r = ensure(pg, roles(EMS_PASSWORD, ""));
    expect(r.status).toBe(1);
    expect(lastLine(r.stderr)).toBe("ensure-databases: FAILED sms_user: ROLE_PASSWORD_sms_user is not set");
    expect(r.stdout + r.stderr).not.toContain(EMS_PASSWORD);
    expect(nothingCreated()).toBe("0/0");
  });

  test("a service role that is the superuser is refused (the API would run with every right)", () => {
    const r = raw({ SERVICE_ROLES: `${pg.user}:ems_production`, [`ROLE_PASSWORD_${pg.user}`]: "a" });
    expect(r.status).toBe(1);
    expect(lastLine(r.stderr)).toBe(
      `ensure-databases: FAILED ${pg.user}: a service role cannot be the superuser ${pg.user}`,
    );
    expect(nothingCreated()).toBe("0/0");
  });

  test("a superuser that does not exist fails with a FAILED line and the server's reason", () => {
    const r = raw({ POSTGRES_USER: "nobody", SERVICE_ROLES: "ems_user:ems_production", ROLE_PASSWORD_ems_user: "a" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/role "nobody" does not exist/);
    expect(lastLine(r.stderr)).toBe("ensure-databases: FAILED ems_user: cannot query the server");
  });
});

/**
 * ensure-databases.sh against a throwaway PostgreSQL server, fed on stdin to `sh -s` exactly as it is
 * fed to `docker exec -i <postgres container> sh -s` in production.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PgServer, SCRIPTS_DIR, startPostgres } from "../support/postgres";

let pg: PgServer;
const SCRIPT = fs.readFileSync(path.join(SCRIPTS_DIR, "ensure-databases.sh"), "utf8");
const OLD_PASSWORD = "old-password-1";

beforeAll(async () => {
  // Every statement is logged, so the password-rotation test can check the server log too.
  pg = await startPostgres({ conf: { log_statement: "'all'" } });
  // Like the official image with POSTGRES_USER=ems: a superuser that is not `postgres`.
  pg.psql(`CREATE ROLE ems SUPERUSER LOGIN PASSWORD '${OLD_PASSWORD}'; CREATE DATABASE ems_existing;`);
});

afterAll(() => pg?.stop());

/** `sh -s` with the script on stdin; the environment is what `docker exec -e` would pass. */
function ensure(env: Record<string, string>) {
  const r = spawnSync("sh", ["-s"], {
    input: SCRIPT,
    env: { ...pg.env, POSTGRES_USER: "ems", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return r;
}

const databases = () =>
  pg.psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%ems%' OR datname LIKE 'sms%' ORDER BY 1").split("\n");

/** Logs in over TCP (scram-sha-256 in pg_hba), returning the stderr of a refusal or "ok". */
function tcpLogin(user: string, password: string): string {
  const r = spawnSync("psql", ["-X", "-Atq", "-c", "SELECT current_user"], {
    env: { ...pg.env, PGHOST: pg.tcpHost, PGUSER: user, PGPASSWORD: password },
    encoding: "utf8",
  });
  return r.status === 0 && r.stdout.trim() === user ? "ok" : r.stderr.trim();
}

describe("ensure-databases.sh", () => {
  test("creates the missing databases (owned by POSTGRES_USER) and reports those that exist", () => {
    const r = ensure({ DATABASES: "ems_existing ems sms-archive" });

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "ensure-databases: ems_existing exists\nensure-databases: created ems\nensure-databases: created sms-archive\n",
    );
    expect(databases()).toEqual(["ems:ems", "ems_existing:postgres", "sms-archive:ems"]);
  });

  test("a second run creates nothing", () => {
    const r = ensure({ DATABASES: "ems_existing ems sms-archive" });

    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      "ensure-databases: ems_existing exists\nensure-databases: ems exists\nensure-databases: sms-archive exists\n",
    );
    expect(databases()).toEqual(["ems:ems", "ems_existing:postgres", "sms-archive:ems"]);
  });

  test("NEW_PASSWORD rotates the role's password for TCP logins without printing or logging it", () => {
    const newPassword = `n3w p@ss 'quoted' "dq" $HOME \\ ;--`;
    expect(tcpLogin("ems", OLD_PASSWORD)).toBe("ok");
    expect(tcpLogin("ems", newPassword)).toMatch(/password authentication failed for user "ems"/);

    const r = ensure({ DATABASES: "ems", NEW_PASSWORD: newPassword });

    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ensure-databases: ems exists\nensure-databases: password of role ems updated\n");
    expect(tcpLogin("ems", newPassword)).toBe("ok");
    expect(tcpLogin("ems", OLD_PASSWORD)).toMatch(/password authentication failed for user "ems"/);
    // The server logs every statement of other sessions, but not this one's ALTER ROLE.
    const log = fs.readFileSync(pg.logFile, "utf8");
    expect(log).toContain("SET log_statement = 'none'");
    expect(log).not.toContain("n3w p@ss");
    expect(log).not.toContain("ALTER ROLE");
  });

  test("without NEW_PASSWORD the password is left alone", () => {
    const before = pg.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'ems'");
    const r = ensure({ DATABASES: "" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(pg.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'ems'")).toBe(before);
  });

  test("fails with a FAILED line when it cannot connect as POSTGRES_USER", () => {
    const r = ensure({ DATABASES: "ems", POSTGRES_USER: "nobody" });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/role "nobody" does not exist/);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("ensure-databases: FAILED ems: cannot query the server");
  });
});

/**
 * The `-pg` stand-ins (test/support/images: standin-server.c built with pg-login.c) behave like the real servers in
 * motion (real-system.md §6): at start they log into PostgreSQL with DB_* (SCRAM-SHA-256 or MD5) and run
 * `CREATE TABLE IF NOT EXISTS`, keep that connection, and exit 1 when the login or the right is refused, so a
 * restart policy turns a changed password into a crash loop. SIGTERM is ignored; `docker kill` stops them at once.
 * The cut-over rehearsal runs the old system and the new stack on these images.
 */
import * as net from "net";
import {
  buildTestImages,
  containerIp,
  describeWithDocker,
  docker,
  DockerScratch,
  httpTo,
  IMAGES,
  inspect,
  psqlIn,
  run,
  waitForPostgres,
} from "../support";

const KEY = "in-motion-api-key-7d21";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listening(host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port, timeout: 1_000 }, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
      s.on("timeout", () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} does not accept connections`);
    await sleep(200);
  }
}

describeWithDocker("the stand-in servers in motion: they log into PostgreSQL at start", () => {
  const scratch = new DockerScratch("inmotion");
  let network = "";
  let pg = "";
  const pgAlias = "postgres_ems_system";

  beforeAll(async () => {
    buildTestImages();
    network = scratch.network({ name: "inmotion" });
    pg = scratch.track(scratch.rename("pg"));
    docker([
      "run",
      "-d",
      "--name",
      pg,
      "--network",
      network,
      "--network-alias",
      pgAlias,
      "-e",
      "POSTGRES_PASSWORD=in-motion-superuser",
      IMAGES.postgres,
    ]);
    await waitForPostgres(pg);
    psqlIn(
      pg,
      `CREATE ROLE ems_user LOGIN PASSWORD 'ems-scram-password';
       CREATE DATABASE ems_production OWNER ems_user;
       CREATE ROLE reader LOGIN PASSWORD 'reader-password';
       CREATE DATABASE locked;
       SET password_encryption = 'md5';
       CREATE ROLE sms_user LOGIN PASSWORD 'sms-md5-password';
       CREATE DATABASE sms_production OWNER sms_user;`,
    );
    psqlIn(pg, "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT CONNECT ON DATABASE locked TO reader;", "locked");
    // md5 for sms_user (a role whose password was set before SCRAM), SCRAM for everyone else.
    docker([
      "exec",
      pg,
      "sh",
      "-c",
      `{ echo 'host all sms_user all md5'; cat "$PGDATA/pg_hba.conf"; } >/tmp/h && cp /tmp/h "$PGDATA/pg_hba.conf"`,
    ]);
    psqlIn(pg, "SELECT pg_reload_conf()");
  }, 180_000);
  afterAll(() => scratch.cleanup(), 60_000);

  const env = (user: string, password: string, database: string) => ({
    JWT_KEY: "jwt-key-for-the-in-motion-test-0123",
    VERIFICATION_LINK_BASE_URL: "https://api.ems.local/api/v1/auth/verify",
    DB_HOST: pgAlias,
    DB_PORT: "5432",
    DB_USER: user,
    DB_PASS: password,
    DB_NAME: database,
    API_KEY: KEY,
  });

  function start(image: string, e: Record<string, string>, extra: string[] = []): string {
    const name = scratch.track(scratch.rename(`srv${Math.random().toString(16).slice(2, 8)}`));
    docker([
      "run",
      "-d",
      "--name",
      name,
      "--network",
      network,
      ...Object.entries(e).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      ...extra,
      image,
    ]);
    return name;
  }

  async function exited(name: string, timeoutMs = 15_000): Promise<{ code: number; logs: string }> {
    const deadline = Date.now() + timeoutMs;
    while (inspect(name).State.Running && Date.now() < deadline) await sleep(200);
    const logs = run("docker", ["logs", name]);
    return { code: inspect(name).State.ExitCode, logs: `${logs.stdout}${logs.stderr}` };
  }

  const sessions = (user: string, database: string) =>
    Number(
      psqlIn(pg, `SELECT count(*) FROM pg_stat_activity WHERE usename = '${user}' AND datname = '${database}'`).trim(),
    );

  test("with its DB_* it logs in over SCRAM-SHA-256, creates its table, keeps the session and answers health", async () => {
    const name = start(IMAGES.emsPg, env("ems_user", "ems-scram-password", "ems_production"));
    const ip = containerIp(name, network);
    await listening(ip, 8181);
    expect(psqlIn(pg, "SELECT tableowner FROM pg_tables WHERE tablename = '__schema'", "ems_production").trim()).toBe(
      "ems_user",
    );
    expect(sessions("ems_user", "ems_production")).toBe(1);
    const h = await httpTo(ip, 8181, { path: "/api/v1/health", headers: { "x-api-key": KEY } });
    expect(h.status).toBe(200);
    expect(docker(["logs", name])).toContain("Connected to PostgreSQL postgres_ems_system:5432/ems_production");
  }, 60_000);

  test("MD5 authentication works the same (sms_user on an md5 pg_hba line)", async () => {
    const name = start(IMAGES.smsPg, env("sms_user", "sms-md5-password", "sms_production"));
    await listening(containerIp(name, network), 8080);
    expect(sessions("sms_user", "sms_production")).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("a refused password exits 1 with PostgreSQL's message; a restart policy makes it a crash loop", async () => {
    const once = start(IMAGES.emsPg, env("ems_user", "the-old-password", "ems_production"));
    const r = await exited(once);
    expect(r.code).toBe(1);
    expect(r.logs).toContain('password authentication failed for user "ems_user"');

    const looping = start(IMAGES.smsPg, env("sms_user", "wrong-md5-password", "sms_production"), [
      "--restart",
      "unless-stopped",
    ]);
    const deadline = Date.now() + 20_000;
    while ((inspect(looping).RestartCount as number) < 2 && Date.now() < deadline) await sleep(250);
    expect(inspect(looping).RestartCount).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test("a role without CREATE on the schema is refused at start even when it may connect", async () => {
    const r = await exited(start(IMAGES.emsPg, env("reader", "reader-password", "locked")));
    expect(r.code).toBe(1);
    expect(r.logs).toContain("permission denied for schema public");
  }, 60_000);

  test("no PostgreSQL at DB_HOST: exit 1", async () => {
    const r = await exited(start(IMAGES.emsPg, { ...env("ems_user", "x", "ems_production"), DB_HOST: "nowhere" }));
    expect(r.code).toBe(1);
    expect(r.logs).toContain("PostgreSQLException");
  }, 60_000);

  test("SIGTERM is ignored (docker stop waits out the grace); docker kill stops it at once", async () => {
    const a = start(IMAGES.emsPg, env("ems_user", "ems-scram-password", "ems_production"));
    const b = start(IMAGES.emsPg, env("ems_user", "ems-scram-password", "ems_production"));
    await listening(containerIp(a, network), 8181);
    await listening(containerIp(b, network), 8181);
    let t = Date.now();
    docker(["stop", "-t", "2", a], { timeoutMs: 30_000 });
    expect(Date.now() - t).toBeGreaterThanOrEqual(1_900);
    expect(inspect(a).State.ExitCode).toBe(137);
    t = Date.now();
    docker(["kill", b], { timeoutMs: 30_000 });
    expect(Date.now() - t).toBeLessThan(1_500);
    expect(inspect(b).State.Running).toBe(false);
  }, 60_000);
});

/**
 * Rehearsal of `npm run migrate` on the real dockerd and PostgreSQL, against an old system that behaves like the
 * real one in motion (test/support/vps.ts: the APIs log into PostgreSQL at start with their old .env and crash-loop
 * when refused, the EMS uploads live in its container's layer, the old backup cron runs a retention that deletes
 * *.sql.gz): the cut-over refuses while the stack's config differs from what the old containers run with, adopts
 * it; an undo after the databases step leaves the old APIs running, logged in, not restarting; the cut-over keeps
 * every row, grant and upload byte for byte, disables the old cron line, and its safety dump outlives that cron's
 * retention; the downtime is measured and printed.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import {
  buildTestImages,
  databaseSnapshot,
  describeWithDocker,
  folderHashes,
  inspect,
  PgServer,
  plain,
  psqlIn,
  run,
  runScript,
  startPostgres,
  waitForPostgres,
} from "../support";
import { Rehearsal, startRehearsal } from "../support";

jest.setTimeout(300_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithDocker("rehearsal: today's compose VPS, in motion, cut over to the prod stack", () => {
  let r: Rehearsal;
  let before: Record<string, unknown>;
  let acmeBefore: Buffer;

  beforeAll(async () => {
    buildTestImages();
    r = await startRehearsal();
    before = databaseSnapshot((sql, db) => psqlIn(r.vps.postgres, sql, db));
    acmeBefore = fs.readFileSync(r.vps.acmeFile);
  });
  afterAll(async () => r?.cleanup());

  const state = (c: string) => inspect(c).State as { Running: boolean; Restarting: boolean };
  const restarts = (c: string) => inspect(c).RestartCount as number;
  const restartPolicy = (c: string) => inspect(c).HostConfig.RestartPolicy.Name as string;
  const oldContainers = () => [
    r.vps.postgres,
    r.vps.apis.ems,
    r.vps.apis.sms,
    r.vps.rename("traefik"),
    r.vps.rename("portainer"),
  ];
  const sessions = (pg: string) =>
    psqlIn(pg, "SELECT usename || ' ' || datname FROM pg_stat_activity WHERE usename IS NOT NULL").split("\n");

  test("refused while the stack's config differs from what the old containers run with; nothing changes", async () => {
    const { result, log } = await r.cutover();
    expect(result).toMatchObject({ outcome: "refused" });
    const text = log.join("\n");
    for (const key of ["dbPassword", "apiKey", "jwtKey"])
      for (const svc of ["ems", "sms"]) expect(text).toContain(`ems-infra:serviceSecrets.${svc}.${key}`);
    // The line that carries a secret over pipes it from docker inspect: the value itself is never printed.
    expect(text).toContain(
      `| pulumi config set --stack prod --secret --path 'ems-infra:serviceSecrets.ems.dbPassword'`,
    );
    expect(text).not.toContain(r.vps.oldEnv.ems.DB_PASS);
    expect(text).not.toContain(r.vps.oldEnv.ems.API_KEY);
    expect(text).toContain("has no POSTGRES_PASSWORD in its environment");
    for (const c of oldContainers()) expect(state(c).Running).toBe(true);
    expect(fs.existsSync(path.join(r.vps.hostPath("/root/ems_system/.secrets"), "cutover-journal.json"))).toBe(false);
  });

  test("undo after the databases step: the old APIs run again, logged in with their own passwords, not restarting, for 15 s", async () => {
    const { result, log } = await r.cutover({ fail: true, adoptCredentials: true });
    console.log(`rehearsal (undo):\n  ${log.join("\n  ")}`);
    expect(result).toMatchObject({
      outcome: "rolled-back",
      reason: "pulumi up failed: ems: the container did not become healthy within 120 s",
    });
    // --adopt-credentials wrote the old values into the stack's config: the stack's containers get them.
    expect(r.uploadedSecret("ems", "DB_PASS")).toBe(r.vps.oldEnv.ems.DB_PASS);
    expect(r.uploadedSecret("sms", "API_KEY")).toBe(r.vps.oldEnv.sms.API_KEY);
    expect(log.join("\n")).toMatch(
      /undo: .*ems_server_prod.*: running, 0 restarts in 3 s, logged into PostgreSQL as ems_user on ems_production/,
    );
    expect(state(r.newPostgres()).Running).toBe(false);
    expect(restartPolicy(r.vps.postgres)).toBe("always");
    expect(restartPolicy(r.vps.apis.ems)).toBe("unless-stopped");
    const counts = { ems: restarts(r.vps.apis.ems), sms: restarts(r.vps.apis.sms) };
    await sleep(15_000);
    for (const c of oldContainers()) expect(state(c)).toMatchObject({ Running: true, Restarting: false });
    expect({ ems: restarts(r.vps.apis.ems), sms: restarts(r.vps.apis.sms) }).toEqual(counts);
    expect(sessions(r.vps.postgres)).toEqual(
      expect.arrayContaining(["ems_user ems_production", "sms_user sms_production"]),
    );
    await waitForPostgres(r.vps.postgres);
    expect(databaseSnapshot((sql, db) => psqlIn(r.vps.postgres, sql, db))).toEqual(before);
    expect(fs.readFileSync(r.vps.acmeFile).equals(acmeBefore)).toBe(true);
  });

  test("cut-over: every row, grant, upload and the ACME file survive; the old cron line is disabled; the downtime is printed", async () => {
    const hostUploadsBefore = folderHashes(r.vps.uploads.ems);
    const { result, log } = await r.cutover();
    console.log(`rehearsal (cut-over):\n  ${log.join("\n  ")}`);
    expect(result?.outcome).toBe("migrated");
    if (result?.outcome !== "migrated") return;
    console.log(`rehearsal: measured downtime ${result.downtimeSeconds} s`);
    expect(result.downtimeSeconds).toBeGreaterThan(0);
    // The figure itself is bench:cutover's (budget 15 s): a test never asserts a speed.
    const text = log.join("\n");
    expect(text).toMatch(/stopped traefik-m\S+\n(.|\n)*stopped ems_server_prod-m\S+ \(killed: it ignores SIGTERM\)/);
    expect(text).toContain("rows: all ");

    // The old system: kept, stopped, and it will not come back on a reboot; the old Postgres container is gone, so
    // nothing can start a second server on the volume (its data is the volume, and the dump).
    for (const c of oldContainers().filter((c) => c !== r.vps.postgres)) {
      expect(state(c).Running).toBe(false);
      expect(restartPolicy(c)).toBe("no");
    }
    expect(run("docker", ["inspect", r.vps.postgres]).status).not.toBe(0);
    expect(text).toContain(`removed the old ${r.vps.postgres} container`);
    // The data: the new Postgres opened the same volume; rows, roles, grants and default privileges are as before.
    const pg = r.newPostgres();
    expect(
      inspect(pg).Mounts.find((m: { Destination: string }) => m.Destination === "/var/lib/postgresql/data").Name,
    ).toBe(r.vps.volume);
    expect(databaseSnapshot((sql, db) => psqlIn(pg, sql, db))).toEqual(before);
    // The new APIs logged in with the passwords the old ones used: nothing changed under anyone.
    expect(sessions(pg)).toEqual(expect.arrayContaining(["ems_user ems_production", "sms_user sms_production"]));

    // The uploads: every file of the old EMS container's layer is in the host folder byte for byte, next to the
    // file that was already there; the new EMS has that folder mounted where it writes (UPLOAD_PATH).
    const hashes = folderHashes(r.vps.uploads.ems);
    expect(hashes).toMatchObject(hostUploadsBefore);
    for (const [rel, bytes] of Object.entries(r.vps.layerUploads))
      expect(fs.readFileSync(path.join(r.vps.uploads.ems, rel)).equals(bytes)).toBe(true);
    expect(Object.keys(hashes).length).toBe(Object.keys(r.vps.layerUploads).length + 1);
    const ems = r.newApi("ems")!;
    const env = plain<string[]>(inspect(ems).Config.Env);
    const uploadPath = env.find((e) => e.startsWith("UPLOAD_PATH="))!.slice("UPLOAD_PATH=".length);
    expect(inspect(ems).Mounts.find((m: { Destination: string }) => m.Destination === uploadPath).Source).toBe(
      r.vps.uploads.ems,
    );

    // The certificates: untouched, and a byte copy with mode 600 beside the dump.
    expect(fs.readFileSync(r.vps.acmeFile).equals(acmeBefore)).toBe(true);
    const acmeCopy = result.backup.find((f) => f.endsWith(".json"))!;
    expect(fs.readFileSync(acmeCopy).equals(acmeBefore)).toBe(true);
    expect(fs.statSync(acmeCopy).mode & 0o777).toBe(0o600);

    // The old cron line is commented out, the rest of the crontab kept.
    const crontab = fs.readFileSync(r.vps.crontabFile, "utf8");
    expect(crontab).toContain('MAILTO=""');
    expect(crontab).toContain(`# disabled by npm run migrate (the stack backs up): ${r.vps.oldCronLine}`);
    expect(crontab.split("\n")).not.toContain(r.vps.oldCronLine);
    expect(text).toContain("disabled the old backup cron line(s)");
  });

  test("the safety dump outlives the old cron's retention run 8 days later, and restores row-identical", async () => {
    const dumps = fs.readdirSync(path.dirname(r.vps.backupDir)).includes("cutover")
      ? fs
          .readdirSync(path.join(path.dirname(r.vps.backupDir), "cutover"))
          .filter((f) => /^cluster_\d{8}T\d{6}Z\.sql\.gz$/.test(f))
          .map((f) => path.join(path.dirname(r.vps.backupDir), "cutover", f))
          .sort()
      : [];
    expect(dumps.length).toBe(2); // the undone attempt's and the cut-over's
    // 8 days later: every file is old; the old job's own retention line runs over its folder.
    const old = new Date(Date.now() - 8 * 86_400_000);
    for (const f of [...dumps, ...fs.readdirSync(r.vps.backupDir).map((f) => path.join(r.vps.backupDir, f))])
      fs.utimesSync(f, old, old);
    fs.writeFileSync(path.join(r.vps.backupDir, "ems_20260101_020000.sql.gz"), "");
    fs.utimesSync(path.join(r.vps.backupDir, "ems_20260101_020000.sql.gz"), old, old);
    const retention = fs
      .readFileSync(r.vps.backupScript, "utf8")
      .split("\n")
      .find((l) => l.startsWith("find "))!;
    const ran = spawnSync("sh", ["-c", `BACKUP_DIR=${r.vps.backupDir}; ${retention}`], { encoding: "utf8" });
    expect(ran.status).toBe(0);
    expect(fs.existsSync(path.join(r.vps.backupDir, "ems_20260101_020000.sql.gz"))).toBe(false); // it does delete
    for (const d of dumps) expect(fs.existsSync(d)).toBe(true);
    expect(fs.statSync(dumps[1]).mode & 0o777).toBe(0o600);

    let pg: PgServer | undefined;
    try {
      pg = await startPostgres();
      const restored = runScript("restore.sh", [dumps[1]], { env: pg.env, timeoutMs: 120_000 });
      expect(restored.stderr).toBe("");
      expect(restored.status).toBe(0);
      expect(databaseSnapshot((sql, db) => pg!.psql(sql, db))).toEqual(before);
    } finally {
      pg?.stop();
    }
  });

  test("a second run finds no journal and no old container running: nothing to migrate, nothing changed", async () => {
    const running = () => [...r.createdNew].filter((c) => state(c).Running).sort();
    const runningBefore = running();
    const { result, log } = await r.cutover();
    expect(result?.outcome).toBe("nothing-to-migrate");
    expect(log.join("\n")).toContain("nothing to migrate: no container of the old compose system is running");
    expect(running()).toEqual(runningBefore);
    expect(run("docker", ["inspect", r.vps.apis.ems]).status).toBe(0); // kept, with its layer
  });
});

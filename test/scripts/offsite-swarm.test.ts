/**
 * The off-site copy on a swarm, run for real: two node "hosts" as temp folders sharing one real restic repository
 * (a folder). The Postgres node (10.0.0.2) has the dumps, its secrets folder and uploads; the ACME node (10.0.0.1)
 * has the ACME store, Traefik's dynamic folder and uploads. Each node's job is installed by the program's own
 * installer (the crontab stubbed into a file) and run with the command its crontab line holds: backup.sh on the
 * Postgres node, offsite.sh alone (no dumps) on the other, each under its own restic host `<system>@<address>`.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BackupArgs, BackupOffsiteArgs, backupInstallScript, offsiteCommandPrefix } from "../../components/backup";
import { offsiteJobCommandPrefix, offsiteJobCronLines, offsiteJobInstallScript } from "../../components/offsiteJob";
import { SWARM_OFFSITE_LOCK_WAIT_SECONDS, nodeOffsiteHost } from "../../stacks/swarmOps";
import {
  buildTestImages,
  docker,
  ensureDocker,
  hasRestic,
  IMAGES,
  PgServer,
  restic,
  snapshots,
  startPostgres,
  treeDigest,
  writeUploads,
} from "../support";

jest.setTimeout(60_000);
const PASSWORD = "swarm-offsite-password-0123";

interface Node {
  address: string;
  root: string;
  bin: string;
  secrets: string;
  uploads: string;
  crontab: string;
  env: NodeJS.ProcessEnv;
}

describe("the off-site copy of two swarm nodes into one repository", () => {
  let pg: PgServer;
  let work: string;
  let repo: string;
  let stubs: string;
  let db: Node;
  let acme: Node;
  let dbArgs: Omit<BackupArgs, "postgresContainer" | "connection"> & { offsite: BackupOffsiteArgs };
  let acmeJob: Parameters<typeof offsiteJobInstallScript>[0];
  const system = "ems_system";

  function node(address: string): Node {
    const root = path.join(work, address);
    const n: Node = {
      address,
      root,
      bin: path.join(root, "data/bin"),
      secrets: path.join(root, ".secrets"),
      uploads: path.join(root, "data/uploads/ems"),
      crontab: path.join(root, "crontab"),
      env: {},
    };
    fs.mkdirSync(n.uploads, { recursive: true });
    fs.mkdirSync(n.secrets, { recursive: true, mode: 0o700 });
    fs.writeFileSync(
      path.join(n.secrets, "offsite.env"),
      `RESTIC_REPOSITORY='${repo}'\nRESTIC_PASSWORD='${PASSWORD}'\n`,
      {
        mode: 0o600,
      },
    );
    n.env = { ...process.env, PATH: `${stubs}:${process.env.PATH}`, CRONTAB_FILE: n.crontab, TMPDIR: root };
    return n;
  }
  const offsite = (n: Node, paths: BackupOffsiteArgs["paths"]): BackupOffsiteArgs => ({
    target: { repository: repo, password: PASSWORD },
    secretsDir: n.secrets,
    paths,
    stateDir: path.join(n.root, "data/offsite"),
    host: nodeOffsiteHost(system, n.address),
    keep: { daily: 7, weekly: 4, monthly: 6 },
    drillSchedule: "0 5 * * 0",
    drillImage: IMAGES.postgres,
    lockWaitSeconds: SWARM_OFFSITE_LOCK_WAIT_SECONDS,
  });
  const sh = (n: Node, command: string, env: NodeJS.ProcessEnv = {}) =>
    spawnSync("sh", ["-c", command], { env: { ...n.env, ...env }, encoding: "utf8", timeout: 55_000 });
  /** The same, without blocking the event loop (two nodes at once); `seen` resolves once stdout shows a line. */
  const printed = new Map<string, () => void>();
  const seen = (text: string) => new Promise<void>((resolve) => printed.set(text, resolve));
  const shAsync = (n: Node, command: string, env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("sh", ["-c", command], { env: { ...n.env, ...env } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
        for (const [text, done] of printed) if (stdout.includes(text)) done();
      });
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  /** The Postgres node's nightly run: the installed backup.sh, against the test's PostgreSQL (not a container). */
  const dbNightly = (env: NodeJS.ProcessEnv = {}) =>
    shAsync(db, `sh ${db.bin}/backup.sh`, {
      ...pg.env,
      PG_EXEC: "",
      BACKUP_DIR: dbArgs.backupDir,
      KEEP_DAILY: "14",
      KEEP_WEEKLY: "8",
      OFFSITE_ENV: path.join(db.secrets, "offsite.env"),
      OFFSITE_PATHS: path.join(db.bin, "offsite.paths"),
      OFFSITE_STATE: dbArgs.offsite.stateDir,
      OFFSITE_HOST: dbArgs.offsite.host,
      OFFSITE_LOCK_WAIT: String(SWARM_OFFSITE_LOCK_WAIT_SECONDS),
      ...env,
    });
  /** The ACME node's nightly run: the command of its crontab line, as cron runs it. */
  const acmeNightly = (env: NodeJS.ProcessEnv = {}) => shAsync(acme, `${offsiteJobCommandPrefix(acmeJob)} backup`, env);
  const byHost = () => {
    const all = snapshots(repo, PASSWORD);
    return (host: string) => all.filter((s) => s.hostname === host);
  };

  beforeAll(async () => {
    if (!hasRestic()) throw new Error("restic is not installed (apt-get install restic)");
    pg = await startPostgres();
    pg.psql("CREATE DATABASE ems_production;");
    pg.psql(
      "CREATE TABLE schools (id int PRIMARY KEY, name text); INSERT INTO schools SELECT g, 'escola ' || g FROM generate_series(1, 40) g;",
      "ems_production",
    );
    work = fs.mkdtempSync(path.join(os.tmpdir(), "ems-swarm-offsite-"));
    repo = path.join(work, "repo");
    stubs = path.join(work, "stubs");
    fs.mkdirSync(stubs);
    // crontab as Debian's reads and writes it, into CRONTAB_FILE.
    fs.writeFileSync(
      path.join(stubs, "crontab"),
      '#!/bin/sh\nif [ "$1" = -l ]; then [ -f "$CRONTAB_FILE" ] || { echo "no crontab for root" >&2; exit 1; }; cat "$CRONTAB_FILE"; else cp "$1" "$CRONTAB_FILE"; fi\n',
      { mode: 0o755 },
    );
    db = node("10.0.0.2");
    acme = node("10.0.0.1");
    writeUploads(db.uploads, { "escola-1/matricula.pdf": crypto.randomBytes(30_000) });
    writeUploads(acme.uploads, { "escola-2/foto ção.jpg": crypto.randomBytes(8_000), "leia-me.txt": "documento\n" });
    const acmeStore = path.join(acme.root, "infra/letsencrypt");
    const dynamic = path.join(acme.root, "infra/traefik/dynamic");
    fs.mkdirSync(acmeStore, { recursive: true, mode: 0o700 });
    fs.mkdirSync(dynamic, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(acmeStore, "ems_system.json"), '{"ems_system_resolver":{}}', { mode: 0o600 });
    fs.writeFileSync(path.join(dynamic, "ems.yml"), "http: {}\n");

    dbArgs = {
      schedule: "0 3 * * *",
      backupDir: path.join(db.root, "data/backups"),
      scriptsDir: db.bin,
      logFile: path.join(db.root, "data/logs/backup.log"),
      keepDaily: 14,
      keepWeekly: 8,
      postgresUser: "postgres",
      postgresRunsAs: "swarm-service",
      jobName: `${system}-backup`,
      offsite: offsite(db, [
        { kind: "uploads", path: db.uploads },
        { kind: "config", path: db.secrets },
      ]),
    };
    acmeJob = {
      schedule: "0 3 * * *",
      scriptsDir: acme.bin,
      logFile: path.join(acme.root, "data/logs/backup.log"),
      jobName: `${system}-offsite`,
      offsite: offsite(acme, [
        { kind: "uploads", path: acme.uploads },
        { kind: "acme", path: acmeStore },
        { kind: "config", path: dynamic },
      ]),
    };
    // Another system's entries and a longer job name that contains this one's: an installer keeps them.
    fs.writeFileSync(
      acme.crontab,
      "0 1 * * * /old/ems_system-offsite-job.sh # ems-infra:ems_system-offsite\n" +
        "0 2 * * * /srv/other.sh # ems-infra:ems_system-offsite-2\n",
    );
    for (const [n, script] of [
      [db, backupInstallScript(dbArgs, "ems_system-postgres")],
      [acme, offsiteJobInstallScript(acmeJob)],
    ] as const) {
      const r = spawnSync("sh", ["-s"], { input: script, env: n.env, encoding: "utf8" });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    }
  });
  afterAll(() => {
    pg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test("the node without dumps gets offsite.sh, its paths and exactly its two crontab entries, twice the same", () => {
    const lines = offsiteJobCronLines(acmeJob);
    const expected = `0 2 * * * /srv/other.sh # ems-infra:ems_system-offsite-2\n${lines.backup}\n${lines.drill}\n`;
    expect(fs.readFileSync(acme.crontab, "utf8")).toBe(expected);
    const again = spawnSync("sh", ["-s"], { input: offsiteJobInstallScript(acmeJob), env: acme.env, encoding: "utf8" });
    expect(again.status).toBe(0);
    expect(fs.readFileSync(acme.crontab, "utf8")).toBe(expected);
    expect(fs.readFileSync(path.join(acme.bin, "offsite.sh"), "utf8")).toBe(
      fs.readFileSync(path.join(__dirname, "../../components/scripts/offsite.sh"), "utf8"),
    );
    expect(lines.backup).toContain(`OFFSITE_HOST=ems_system@10.0.0.1 OFFSITE_KEEP_DAILY=7`);
    expect(lines.backup).toContain(`OFFSITE_LOCK_WAIT=${SWARM_OFFSITE_LOCK_WAIT_SECONDS} sh `);
    expect(lines.backup).not.toContain("BACKUP_DIR=");
  });

  test("both nodes back up at the same time into one repository, each as its own host", async () => {
    // The node without dumps starts first and waits for the Postgres node's run to create the repository.
    const waiting = seen("offsite: no repository yet");
    const [b, a] = await Promise.all([
      acmeNightly({ OFFSITE_LOCK_POLL: "1" }),
      waiting.then(() => dbNightly({ BACKUP_NOW: "20261201T030000Z" })),
    ]);
    expect({ status: a.status, stderr: a.stderr }).toEqual({ status: 0, stderr: "" });
    expect({ status: b.status, stderr: b.stderr }).toEqual({ status: 0, stderr: "" });
    const of = byHost();
    const [dbSnap] = of("ems_system@10.0.0.2");
    const [acmeSnap] = of("ems_system@10.0.0.1");
    expect(of("ems_system@10.0.0.2")).toHaveLength(1);
    expect(of("ems_system@10.0.0.1")).toHaveLength(1);
    expect(dbSnap.tags?.sort()).toEqual(["config", "db", "ems-infra", "uploads"]);
    expect(acmeSnap.tags?.sort()).toEqual(["acme", "config", "ems-infra", "uploads"]);
    // Each node's snapshot holds its own folders only.
    expect(dbSnap.paths.every((p) => p.startsWith(db.root))).toBe(true);
    expect(acmeSnap.paths.every((p) => p.startsWith(acme.root))).toBe(true);
    expect(b.stdout).toContain("offsite: no repository yet: waiting up to 3600s for the Postgres node's first run");
    expect(b.stdout).toMatch(/^offsite: snapshot [0-9a-f]{8} \(uploads acme config\) added \d+ bytes/m);
    // Each node records its own last backup: status reads it per node.
    expect(fs.readFileSync(path.join(acme.root, "data/offsite/last-backup"), "utf8")).toMatch(
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\t${acmeSnap.short_id}\\t\\d{8}T\\d{6}Z\\t\\d+\\n$`),
    );
  });

  test("another node's live lock is waited for, not failed (restic 0.14 has no --retry-lock)", async () => {
    const holder = spawn("restic", ["--no-cache", "backup", "--stdin", "--host", "ems_system@10.0.0.3"], {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD },
      stdio: ["pipe", "ignore", "ignore"],
    });
    holder.stdin.write("a node's run still going");
    const locks = () => fs.readdirSync(path.join(repo, "locks")).filter((n) => !n.includes("-tmp-"));
    for (let i = 0; i < 200 && locks().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(locks()).toHaveLength(1);
    const waiting = seen("another live restic holds the lock; waiting");
    const run = acmeNightly({ OFFSITE_LOCK_POLL: "1" });
    // The holder ends once the node's run has met its lock, however slow the machine.
    await Promise.race([waiting, run]);
    holder.stdin.end();
    const r = await run;
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toContain(
      `offsite: retention: another live restic holds the lock; waiting up to ${SWARM_OFFSITE_LOCK_WAIT_SECONDS}s`,
    );
    expect(r.stdout).toMatch(/offsite: done: snapshot [0-9a-f]{8}/);
  });

  test("the node without dumps drills its uploads' checksums, with no PostgreSQL", () => {
    const r = sh(acme, `${offsiteJobCommandPrefix(acmeJob)} drill`);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/drill passed: snapshot latest \(run \d{8}T\d{6}Z\): 0 databases, 0 tables .*, 2 uploads/);
    expect(fs.readFileSync(path.join(acme.root, "data/offsite/last-drill"), "utf8")).toContain(
      "0 databases, 0 tables, 2 uploads",
    );
  });

  (ensureDocker() ? test : test.skip)(
    "the Postgres node drills its dumps into a scratch PostgreSQL (a container name made from its host name)",
    () => {
      buildTestImages();
      const r = sh(db, `${offsiteCommandPrefix(dbArgs, "ems_system-postgres")} drill`);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.stdout).toMatch(
        /drill passed: snapshot latest \(run 20261201T030000Z\): 1 databases, 1 tables .*, 1 uploads/,
      );
      expect(docker(["ps", "-a", "--filter", "name=ems_system-10.0.0.2-drill-", "--format", "{{.Names}}"]).trim()).toBe(
        "",
      );
    },
  );

  test("restore: each node puts back its own folders; another node's snapshot id is refused with exit 3", () => {
    const before = treeDigest(acme.root + "/infra");
    fs.rmSync(path.join(acme.root, "infra"), { recursive: true, force: true });
    fs.rmSync(acme.uploads, { recursive: true, force: true });
    const dbUploads = treeDigest(db.uploads);
    const dbSnap = byHost()("ems_system@10.0.0.2")[0].short_id;

    const foreign = sh(acme, `${offsiteJobCommandPrefix(acmeJob)} restore --snapshot ${dbSnap}`);
    expect(foreign.status).toBe(3);
    expect(foreign.stderr).toContain(
      `snapshot ${dbSnap} was made by ems_system@10.0.0.2, not by this host (ems_system@10.0.0.1): not restored here`,
    );
    expect(fs.existsSync(path.join(acme.root, "infra"))).toBe(false);

    const r = sh(acme, `${offsiteJobCommandPrefix(acmeJob)} restore`);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(treeDigest(acme.root + "/infra")).toEqual(before);
    expect(Object.keys(treeDigest(acme.uploads)).sort()).toEqual(["escola-2/foto ção.jpg", "leia-me.txt"]);
    // Nothing of the Postgres node's came onto this node, nor changed there.
    expect(fs.existsSync(path.join(acme.root, "data/backups"))).toBe(false);
    expect(treeDigest(db.uploads)).toEqual(dbUploads);

    const only = sh(acme, `${offsiteJobCommandPrefix(acmeJob)} restore --only db`);
    expect(only.status).toBe(2);
    expect(only.stderr).toContain("--only db: this host's job takes no database dumps");
  });

  test("a snapshot of the system on one engine (restic host ems_system) gives each node its own paths", () => {
    const store = path.join(acme.root, "infra/letsencrypt/ems_system.json");
    const upload = path.join(db.uploads, "escola-1/matricula.pdf");
    const [storeBefore, uploadBefore] = [fs.readFileSync(store), fs.readFileSync(upload)];
    // The VPS the cluster replaces held every folder in one snapshot, under the system's name.
    const made = restic(repo, PASSWORD, [
      "backup",
      "--json",
      "--host",
      "ems_system",
      "--tag",
      "ems-infra",
      path.join(acme.root, "infra/letsencrypt"),
      db.uploads,
    ]);
    const id = /"snapshot_id":"([0-9a-f]{8})/.exec(made)![1];
    fs.writeFileSync(store, "changed since");
    fs.rmSync(upload);

    const r = sh(acme, `${offsiteJobCommandPrefix(acmeJob)} restore --snapshot ${id} --only acme`);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(fs.readFileSync(store)).toEqual(storeBefore);
    // The ACME node took its own path only: the Postgres node's upload is still gone until that node restores it.
    expect(fs.existsSync(upload)).toBe(false);
    const d = sh(db, `sh ${db.bin}/offsite.sh restore --snapshot ${id} --only uploads`, {
      BACKUP_DIR: dbArgs.backupDir,
      OFFSITE_ENV: path.join(db.secrets, "offsite.env"),
      OFFSITE_PATHS: path.join(db.bin, "offsite.paths"),
      OFFSITE_STATE: dbArgs.offsite.stateDir,
      OFFSITE_HOST: dbArgs.offsite.host,
    });
    expect({ status: d.status, stderr: d.stderr }).toEqual({ status: 0, stderr: "" });
    expect(fs.readFileSync(upload)).toEqual(uploadBefore);
  });

  test("restore --only db on the Postgres node brings its databases back from its own snapshot", () => {
    pg.psql("DROP TABLE schools;", "ems_production");
    const r = sh(db, `sh ${db.bin}/offsite.sh restore --only db`, {
      ...pg.env,
      PG_EXEC: "",
      BACKUP_DIR: dbArgs.backupDir,
      OFFSITE_ENV: path.join(db.secrets, "offsite.env"),
      OFFSITE_PATHS: path.join(db.bin, "offsite.paths"),
      OFFSITE_STATE: dbArgs.offsite.stateDir,
      OFFSITE_HOST: dbArgs.offsite.host,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(pg.psql("SELECT count(*) FROM schools;", "ems_production").trim()).toBe("40");
    // Every host's snapshots are in the one repository, and it is sound.
    expect(new Set(snapshots(repo, PASSWORD).map((s) => s.hostname))).toEqual(
      new Set(["ems_system", "ems_system@10.0.0.1", "ems_system@10.0.0.2", "ems_system@10.0.0.3"]),
    );
    expect(restic(repo, PASSWORD, ["check"])).toContain("no errors were found");
  });
});

/**
 * The restore drill (offsite.sh drill), run for real: a nightly run of a real PostgreSQL into a real restic
 * repository, then the drill restores the newest snapshot into a scratch PostgreSQL container on the real
 * dockerd (ems-test/postgres:15, the stand-in of the official image) and a scratch folder, and checks it.
 * Bad snapshots (an upload missing, a truncated dump, a row count that differs) fail it, naming what differs.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildTestImages,
  describeWithDocker,
  docker,
  hasRestic,
  IMAGES,
  offsiteEnvironment,
  PgServer,
  restic,
  runScript,
  snapshots,
  startPostgres,
  SystemFolders,
  systemFolders,
  writeUploads,
} from "../support";

jest.setTimeout(120_000);
const PASSWORD = "drill-password-0123456789";

describeWithDocker("restore drill into a scratch PostgreSQL container", () => {
  let pg: PgServer;
  let work: string;
  let f: SystemFolders;
  let env: NodeJS.ProcessEnv;
  let repo: string;
  let tmp: string;

  beforeAll(async () => {
    if (!hasRestic()) throw new Error("restic is not installed (apt-get install restic)");
    buildTestImages();
    pg = await startPostgres();
    pg.psql("CREATE DATABASE ems_app; CREATE DATABASE sms_app;");
    pg.psql(
      "CREATE TABLE people (id int PRIMARY KEY, name text); INSERT INTO people SELECT g, 'p' || g FROM generate_series(1, 120) g;" +
        'CREATE TABLE "Notas Finais" (id int); INSERT INTO "Notas Finais" VALUES (1), (2), (3);',
      "ems_app",
    );
    pg.psql("CREATE TABLE messages (id int); INSERT INTO messages VALUES (1);", "sms_app");
    work = fs.mkdtempSync(path.join(os.tmpdir(), "ems-drill-"));
    f = systemFolders(path.join(work, "host"));
    writeUploads(f.uploads.ems, { "escola/matricula.pdf": crypto.randomBytes(20_000), "a b.txt": "documento\n" });
    writeUploads(f.uploads.sms, { "anexo.bin": crypto.randomBytes(3_000) });
    fs.writeFileSync(path.join(f.acme, "ems_system.json"), "{}", { mode: 0o600 });
    repo = path.join(work, "repo");
    const secrets = path.join(work, "secrets");
    fs.mkdirSync(secrets, { mode: 0o700 });
    tmp = path.join(work, "tmp");
    fs.mkdirSync(tmp);
    env = {
      ...pg.env,
      PG_EXEC: "",
      TMPDIR: tmp,
      ...offsiteEnvironment(f, { repository: repo, password: PASSWORD }, secrets, {
        OFFSITE_HOST: `ems_drill_test_${process.pid}`,
        DRILL_PG_IMAGE: IMAGES.postgres,
      }),
    };
    const r = runScript("backup.sh", [], { env: { ...env, BACKUP_NOW: "20261201T030000Z" }, timeoutMs: 60_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
  });
  afterAll(() => {
    pg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const drill = () => runScript("offsite.sh", ["drill"], { env, timeoutMs: 110_000 });
  const scratchContainers = () =>
    docker(["ps", "-a", "--filter", `name=ems_drill_test_${process.pid}-drill-`, "--format", "{{.Names}}"]).trim();

  /** A new snapshot of the same paths after `tamper` changed the staged run or the uploads (restic as the job runs it). */
  function tamperedSnapshot(tamper: () => void) {
    const paths = snapshots(repo, PASSWORD)[0].paths;
    const stage = path.join(f.backups, "offsite");
    const saved = path.join(work, `saved-${Date.now()}`);
    fs.cpSync(stage, saved, { recursive: true });
    const uploads = path.join(work, `uploads-${Date.now()}`);
    fs.cpSync(f.uploads.ems, uploads, { recursive: true });
    tamper();
    restic(repo, PASSWORD, ["backup", "--host", env.OFFSITE_HOST!, "--tag", "ems-infra", "--tag", "db", ...paths]);
    // The live host is as it was: only the snapshot is bad.
    fs.rmSync(stage, { recursive: true });
    fs.cpSync(saved, stage, { recursive: true });
    fs.rmSync(f.uploads.ems, { recursive: true });
    fs.cpSync(uploads, f.uploads.ems, { recursive: true });
  }

  test("a good snapshot passes: every database restores with every table's row count, every upload's checksum", () => {
    const r = drill();
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(
      /offsite: drill passed: snapshot latest \(run 20261201T030000Z\): 2 databases, 3 tables with their row counts, 3 uploads with their checksums/,
    );
    const record = fs.readFileSync(path.join(f.state, "last-drill"), "utf8").split("\t");
    expect(record[2]).toBe("20261201T030000Z");
    // The scratch copies are gone: the container and the folder.
    expect(scratchContainers()).toBe("");
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test("an upload missing from the snapshot fails the drill, naming it", () => {
    tamperedSnapshot(() => fs.rmSync(path.join(f.uploads.ems, "escola/matricula.pdf")));
    const r = drill();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`offsite: drill: upload ${path.join(f.uploads.ems, "escola/matricula.pdf")}`);
    expect(r.stderr).toMatch(/^offsite: FAILED drill of snapshot latest: 1 difference\(s\) with the source/m);
    expect(fs.readFileSync(path.join(f.state, "last-drill-failed"), "utf8")).toContain("1 difference(s)");
    expect(scratchContainers()).toBe("");
  });

  test("a truncated dump fails the drill, naming the dump", () => {
    tamperedSnapshot(() => {
      const dump = path.join(f.backups, "offsite", "ems_app.dump");
      const size = fs.statSync(dump).size;
      fs.truncateSync(dump, Math.floor(size / 2));
    });
    const r = drill();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/restore: FAILED \S*ems_app\.dump into ems_app/);
    expect(r.stderr).toMatch(/FAILED drill of snapshot latest: a dump of run 20261201T030000Z did not restore/);
    expect(scratchContainers()).toBe("");
  });

  test("a table whose restored row count differs from its source at dump time fails the drill, naming it", () => {
    tamperedSnapshot(() => {
      const rows = path.join(f.backups, "offsite", "ems_app.rows");
      fs.writeFileSync(rows, fs.readFileSync(rows, "utf8").replace("public.people\t120", "public.people\t121"));
    });
    const r = drill();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "offsite: drill: table public.people of ems_app has 120 rows, its source had 121 at dump time",
    );
    expect(spawnSync("docker", ["ps", "-q", "--filter", `name=ems_drill_test_${process.pid}`]).stdout.toString()).toBe(
      "",
    );
  });
});

/**
 * Rebuilding a lost VPS from the off-site repository, following README "Rebuilding a lost VPS" step by step:
 * the old host's nightly run reaches a REST repository on loopback (rclone serve restic); the old host is then
 * gone. On the new host (a fresh folder tree and a fresh PostgreSQL container on the real dockerd):
 *   1. deploy: the Backup component's own commands (under mocks, then run for real) write offsite.env (mode 600),
 *      the scripts, the paths file and the crontab; the databases and roles exist, empty (ensure-databases);
 *   2. `npm run restore -- --stack prod --from offsite --yes` (ops/restore.ts main, the real host shell);
 *   3. `npm run backup -- --stack prod --drill` passes against the restored data's snapshot.
 * The new host ends row- and byte-identical to the old one.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Backup } from "../../components/backup";
import { backup } from "../../ops/commands/backup";
import { restore } from "../../ops/commands/restore";
import { captureOnHost, runOnHost } from "../../ops/runner/hostShell";
import {
  buildTestImages,
  describeWithDocker,
  docker,
  DockerScratch,
  fakeDeps,
  fakeIo,
  FakeStack,
  PROD_CONFIG,
  prodOutputs,
  hasRclone,
  IMAGES,
  offsiteEnvironment,
  PgServer,
  RestServer,
  runComponents,
  runRecordedCommand,
  runScript,
  startPostgres,
  startRestServer,
  systemFolders,
  SystemFolders,
  T,
  treeDigest,
  writeUploads,
} from "../support";

jest.setTimeout(150_000);
const PASSWORD = "rebuild-password-0123456789";

describeWithDocker("rebuilding a lost VPS from the off-site repository (README steps)", () => {
  let scratch: DockerScratch;
  let server: RestServer;
  let oldPg: PgServer;
  let work: string;
  let old: SystemFolders;
  let oldDigest: Record<string, Record<string, string>>;
  let oldRows: string;
  const SYSTEM = `ems_rebuild_${process.pid}`;

  beforeAll(async () => {
    if (!hasRclone()) throw new Error("rclone is not installed (apt-get install rclone)");
    buildTestImages();
    scratch = new DockerScratch("rebuild");
    work = scratch.dir("rebuild");
    server = await startRestServer(path.join(work, "offsite-server"));

    // The old VPS: data, uploads, certificates; one nightly run reaches the off-site server.
    oldPg = await startPostgres();
    oldPg.psql(
      "CREATE ROLE ems_user LOGIN PASSWORD 'ems-pass-0123456789'; CREATE DATABASE ems_production OWNER ems_user;",
    );
    oldPg.psql(
      "SET ROLE ems_user; CREATE TABLE documents (id int PRIMARY KEY, path text, sent_at timestamptz);" +
        "INSERT INTO documents SELECT g, 'escola-' || g || '/doc.pdf', '2026-11-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 500) g;",
      "ems_production",
    );
    old = systemFolders(path.join(work, "old-vps"));
    writeUploads(old.uploads.ems, {
      "escola-1/doc.pdf": crypto.randomBytes(60_000),
      "escola-2/foto.jpg": crypto.randomBytes(15_000),
    });
    fs.writeFileSync(path.join(old.acme, "ems_system.json"), '{"ems_system_resolver":{}}', { mode: 0o600 });
    const secrets = path.join(work, "old-secrets");
    fs.mkdirSync(secrets, { mode: 0o700 });
    const env = {
      ...oldPg.env,
      PG_EXEC: "",
      ...offsiteEnvironment(old, { repository: server.url, password: PASSWORD }, secrets, { OFFSITE_HOST: SYSTEM }),
      BACKUP_NOW: "20261201T030000Z",
    };
    const nightly = runScript("backup.sh", [], { env, timeoutMs: 60_000 });
    expect({ status: nightly.status, stderr: nightly.stderr }).toEqual({ status: 0, stderr: "" });
    oldDigest = { ems: treeDigest(old.uploads.ems), sms: treeDigest(old.uploads.sms), acme: treeDigest(old.acme) };
    oldRows = oldPg.psql(
      "SELECT md5(string_agg(id || path || sent_at, ',' ORDER BY id)) FROM documents",
      "ems_production",
    );
    // The VPS is lost: its disk and its server with it.
    oldPg.stop();
    fs.rmSync(old.root, { recursive: true, force: true });
  });
  afterAll(() => {
    server?.stop();
    scratch?.cleanup();
  });

  test("deploy on the new host, restore --from offsite, drill: the new host holds the old one's data", async () => {
    // The new VPS: same config (same paths: here under a new root), a fresh Postgres container.
    const fresh = systemFolders(old.root);
    expect(treeDigest(fresh.uploads.ems)).toEqual({});
    const postgres = scratch.track(`${SYSTEM}-postgres-t${scratch.id}`);
    docker([
      "run",
      "-d",
      "--name",
      postgres,
      "--network",
      "none",
      "-e",
      "POSTGRES_PASSWORD=bootstrap-0123456789",
      IMAGES.postgres,
    ]);
    for (let i = 0; i < 120; i++) {
      if (docker(["exec", postgres, "sh", "-c", "pg_isready -q -h 127.0.0.1 && echo ok || true"]).trim() === "ok")
        break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // What deploy's ensure-databases leaves: the service's role and its empty database.
    docker([
      "exec",
      "-i",
      postgres,
      "psql",
      "-U",
      "postgres",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "CREATE ROLE ems_user LOGIN PASSWORD 'ems-pass-0123456789'",
    ]);
    docker([
      "exec",
      "-i",
      postgres,
      "psql",
      "-U",
      "postgres",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      "CREATE DATABASE ems_production OWNER ems_user",
    ]);

    // Step 1, deploy: the Backup component's commands, as the Command provider runs them on the host.
    const fakebin = path.join(work, "fakebin");
    fs.mkdirSync(fakebin, { recursive: true });
    fs.writeFileSync(path.join(fakebin, "crontab"), `#!/bin/sh\n[ "$1" = -l ] && exit 0\ncp "$1" ${work}/crontab\n`, {
      mode: 0o755,
    });
    const run = await runComponents(
      () =>
        new Backup("backup", {
          schedule: "0 3 * * *",
          backupDir: fresh.backups,
          scriptsDir: path.join(fresh.root, "data/bin"),
          logFile: path.join(fresh.logs, "backup.log"),
          keepDaily: 14,
          keepWeekly: 8,
          postgresContainer: postgres,
          postgresUser: "postgres",
          jobName: `${SYSTEM}-backup`,
          offsite: {
            target: pulumi.secret({ repository: server.url, password: PASSWORD }),
            secretsDir: path.join(fresh.root, "secrets"),
            paths: [
              ...Object.values(fresh.uploads).map((p) => ({ kind: "uploads" as const, path: p })),
              { kind: "acme", path: fresh.acme },
              { kind: "config", path: fresh.config },
            ],
            stateDir: fresh.state,
            host: SYSTEM,
            keep: { daily: 7, weekly: 4, monthly: 6 },
            drillSchedule: "0 5 * * 0",
            drillImage: IMAGES.postgres,
          },
        }),
    );
    for (const name of ["backup-offsite-credentials", "backup-schedule"]) {
      const r = runRecordedCommand(run.get(T.localCommand, name), { pathPrefix: fakebin, env: { TMPDIR: work } });
      expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: "" });
    }
    const command = await new Promise<string>((resolve) => run.result.offsiteCommand.apply(resolve));
    // The stack as ops read it (its outputs), on this machine: host commands run for real.
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      outputs: prodOutputs({
        offsite: { enabled: true, command, stateDir: fresh.state, maxAgeHours: 30, drillMaxAgeDays: 8 },
      }),
    });
    const deps = fakeDeps(stack, {
      host: { run: (_t, cmd) => runOnHost("local", cmd), capture: (_t, cmd) => captureOnHost("local", cmd) },
    });

    // Step 2: npm run restore -- --stack prod --from offsite --yes
    const restoreIo = fakeIo();
    expect(await restore.main(["--stack", "prod", "--from", "offsite", "--yes"], restoreIo, deps)).toBe(0);
    expect(treeDigest(fresh.uploads.ems)).toEqual(oldDigest.ems);
    expect(treeDigest(fresh.uploads.sms)).toEqual(oldDigest.sms);
    expect(treeDigest(fresh.acme)).toEqual(oldDigest.acme);
    const rows = docker([
      "exec",
      postgres,
      "psql",
      "-U",
      "postgres",
      "-d",
      "ems_production",
      "-Atc",
      "SELECT md5(string_agg(id || path || sent_at, ',' ORDER BY id)) FROM documents",
    ]).trim();
    expect(rows).toBe(oldRows);
    const owner = docker([
      "exec",
      postgres,
      "psql",
      "-U",
      "postgres",
      "-d",
      "ems_production",
      "-Atc",
      "SELECT tableowner FROM pg_tables WHERE tablename = 'documents'",
    ]).trim();
    expect(owner).toBe("ems_user");

    // Step 3: npm run backup -- --stack prod --drill
    const drillIo = fakeIo();
    expect(await backup.main(["--stack", "prod", "--drill"], drillIo, deps)).toBe(0);
    expect(fs.readFileSync(path.join(fresh.state, "last-drill"), "utf8")).toContain("20261201T030000Z");
  });
});

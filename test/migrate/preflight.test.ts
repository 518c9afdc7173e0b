/**
 * The pre-flight verdicts, and the parsers fed with what the real commands print on this machine.
 */
import * as fs from "fs";
import { execFileSync } from "child_process";
import { describeWithDocker, docker, IMAGES, buildTestImages, run } from "../support";
import { traefikVersion } from "../../components/imageRef";
import { boundShell } from "../../ops/runner/hostShell";
import { legacySystem } from "../../ops/migrate/legacy";
import { PREFLIGHT_COMMANDS } from "../../ops/hostCommands/preflight";
import {
  containerStates,
  diskVerdict,
  oldCronLines,
  parseContainerList,
  parseDatabaseBytes,
  parseDfAvailable,
  engineArchVerdict,
  parseEngineVersion,
  traefikDockerVerdict,
  withoutLines,
} from "../../ops/preflight";

jest.setTimeout(120_000);

const DOCKER_29 = { apiVersion: "1.52", version: "29.1.3" };
const DOCKER_28 = { apiVersion: "1.51", version: "28.5.1" };

describe("Traefik ↔ Docker (provider-facts B2)", () => {
  test("the Traefik the stack pinned before (v3.3.5) is refused on Docker 29, naming both versions and the fix", () => {
    const v = traefikDockerVerdict("traefik:v3.3.5", DOCKER_29);
    expect(v.ok).toBe(false);
    expect(v.message).toContain("traefik:v3.3.5 (Traefik 3.3.5) pins Docker API 1.24");
    expect(v.message).toContain("Docker Engine 29.1.3 (API 1.52) requires API 1.44 or later");
    expect(v.message).toContain("set ems-infra:traefik.image to traefik:v3.6.1 or later");
  });

  test.each([
    ["traefik:v3.6.0", false],
    ["traefik:v3.6.1", true],
    ["traefik:v3.6.2", true],
    ["traefik:3.7", true],
    ["traefik:v2.11", false], // today's floating compose tag: its patch cannot be known
    ["traefik:v2.11.30", false],
    ["traefik:v2.11.31", true],
    ["docker.io/library/traefik:v3.6.1@sha256:" + "a".repeat(64), true],
    ["traefik:latest", false],
  ])("on Docker 29, %s → ok %s", (image, ok) => {
    expect(traefikDockerVerdict(image, DOCKER_29).ok).toBe(ok);
  });

  test("an old Traefik is fine on an engine before 29 (it still accepts API 1.24)", () => {
    expect(traefikDockerVerdict("traefik:v3.3.5", DOCKER_28)).toEqual({
      ok: true,
      message: "traefik:v3.3.5 can talk to Docker Engine 28.5.1 (API 1.51)",
    });
    expect(traefikDockerVerdict("traefik:v2.11", { apiVersion: "1.41", version: "20.10.24+dfsg1" }).ok).toBe(true);
  });

  test("a tag without a version is refused: it cannot be checked", () => {
    expect(traefikVersion("traefik:latest")).toBeUndefined();
    expect(traefikVersion("registry:5000/traefik")).toBeUndefined();
    expect(traefikDockerVerdict("traefik:latest", DOCKER_29).message).toMatch(
      /^cannot tell the Traefik version from traefik:latest.*traefik:v3\.6\.1 or later/,
    );
  });
});

describe("the engine's architecture (ems-run is a static amd64 binary)", () => {
  test("docker version's three fields parse; two (an older format) still do", () => {
    expect(parseEngineVersion("1.52 29.1.3 amd64\n")).toEqual({ apiVersion: "1.52", version: "29.1.3", arch: "amd64" });
    expect(parseEngineVersion("1.52 29.1.3")).toEqual({ apiVersion: "1.52", version: "29.1.3" });
  });

  test("amd64 passes; arm64 is refused with the reason, naming ems-run", () => {
    expect(engineArchVerdict({ apiVersion: "1.52", version: "29.1.3", arch: "amd64" }).ok).toBe(true);
    const arm = engineArchVerdict({ apiVersion: "1.52", version: "29.1.3", arch: "arm64" });
    expect(arm).toEqual({
      ok: false,
      message:
        "Docker Engine 29.1.3 runs on arm64, and ems-run (components/probe, the API containers' launcher and health probe) " +
        "is built for amd64 only: every API container would fail to start",
    });
  });
});

describe("disk space for the dump", () => {
  test("twice the databases' size must be free", () => {
    const mb = 1024 * 1024;
    expect(diskVerdict(200 * mb, 100 * mb, "/root/ems_system/data/backups").ok).toBe(true);
    const no = diskVerdict(150 * mb, 100 * mb, "/root/ems_system/data/backups");
    expect(no).toEqual({
      ok: false,
      message:
        "/root/ems_system/data/backups: only 150.0 MB free, the dump needs 200.0 MB (twice the 100.0 MB of databases): free some space first",
    });
  });

  test("df -Pk of the real host, through the runner's own command, agrees with statfs", async () => {
    const r = await boundShell("local").run(PREFLIGHT_COMMANDS.df("/tmp/ems-not-made-yet/backups"));
    expect(r.code).toBe(0);
    const st = fs.statfsSync("/tmp");
    const expected = st.bavail * st.bsize;
    // The two readings are moments apart on a shared disk: within 64 MB.
    expect(Math.abs(parseDfAvailable(r.stdout) - expected)).toBeLessThan(64 * 1024 * 1024);
  });

  test("unreadable outputs are errors, never a zero", () => {
    expect(() => parseDfAvailable("df: /nope: No such file or directory\n")).toThrow(/cannot read the free space/);
    expect(() => parseDatabaseBytes("psql: error: connection refused")).toThrow(/cannot read the database size/);
    expect(parseDatabaseBytes("7654321\n")).toBe(7654321);
  });
});

describe("the old backup cron line", () => {
  const ours =
    "0 3 * * * BACKUP_DIR=/root/ems_system/data/backups PG_EXEC='docker exec -i ems_system-postgres' /root/ems_system/data/bin/backup.sh >> /root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup";
  const crontab = [
    "# m h dom mon dow command",
    "0 2 * * * /root/ems_system/data/backups/backup.sh",
    "# 0 4 * * * docker exec postgres_ems_system vacuumdb -a",
    "30 1 * * * docker exec postgres_ems_system pg_dump -U postgres -d sms_production | gzip > /root/sms.sql.gz",
    ours,
    "*/5 * * * * /usr/local/bin/other-job",
    "",
  ].join("\n");

  test("is found by the real script path or container name; comments and the stack's own job are not", () => {
    expect(oldCronLines(crontab, legacySystem().cronMarkers)).toEqual([
      "0 2 * * * /root/ems_system/data/backups/backup.sh",
      "30 1 * * * docker exec postgres_ems_system pg_dump -U postgres -d sms_production | gzip > /root/sms.sql.gz",
    ]);
  });

  test("removing it keeps every other line as it was", () => {
    const kept = withoutLines(crontab, oldCronLines(crontab, legacySystem().cronMarkers));
    expect(kept).toBe(
      [
        "# m h dom mon dow command",
        "# 0 4 * * * docker exec postgres_ems_system vacuumdb -a",
        ours,
        "*/5 * * * * /usr/local/bin/other-job",
        "",
      ].join("\n"),
    );
  });
});

describe("container list parsing", () => {
  test("names are matched exactly (docker's --filter name= would match substrings)", () => {
    const listed = parseContainerList("traefik_dev\trunning\nems_server_prod\texited\nportainer\trunning\n");
    expect(containerStates(listed, ["traefik", "ems_server_prod", "portainer"])).toEqual([
      { name: "traefik", present: false, running: false },
      { name: "ems_server_prod", present: true, running: false },
      { name: "portainer", present: true, running: true },
    ]);
  });
});

describeWithDocker("pre-flight commands against the real engine", () => {
  const tag = `${process.pid}${Date.now() % 100000}`;
  const running = `ems-preflight-run-${tag}`;
  const stopped = `ems-preflight-stop-${tag}`;

  beforeAll(() => {
    buildTestImages();
    docker(["run", "-d", "--name", running, "--entrypoint", "sleep", IMAGES.postgres, "300"]);
    docker(["create", "--name", stopped, "--entrypoint", "true", IMAGES.postgres]);
  });
  afterAll(() => {
    run("docker", ["rm", "-f", running, stopped]);
  });

  test("docker version's output parses into this engine's API and version", async () => {
    const r = await boundShell("local").run(PREFLIGHT_COMMANDS.engine);
    expect(r.code).toBe(0);
    const engine = parseEngineVersion(r.stdout);
    expect(engine.arch).toBe(
      execFileSync("docker", ["version", "--format", "{{.Server.Arch}}"], { encoding: "utf8" }).trim(),
    );
    expect(engine.apiVersion).toBe(
      execFileSync("docker", ["version", "--format", "{{.Server.APIVersion}}"], { encoding: "utf8" }).trim(),
    );
    expect(engine.version).toMatch(/^\d+\.\d+/);
  });

  test("docker ps -a's output tells running, stopped and absent containers apart", async () => {
    const r = await boundShell("local").run(PREFLIGHT_COMMANDS.containers);
    expect(r.code).toBe(0);
    expect(containerStates(parseContainerList(r.stdout), [running, stopped, `absent-${tag}`])).toEqual([
      { name: running, present: true, running: true },
      { name: stopped, present: true, running: false },
      { name: `absent-${tag}`, present: false, running: false },
    ]);
  });
});

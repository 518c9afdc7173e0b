/**
 * The off-site copy behind a real REST server on loopback (rclone serve restic), and its faults, run for real
 * (a throwaway PostgreSQL, real restic repositories): an unreachable server, a wrong password, a credentials file others can read, a full disk (a 2 MB tmpfs), a stale lock and a live one each
 * end in one clear "offsite: FAILED" line and a non-zero exit, never a silent success; the local dumps are made.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  closedPort,
  hasRclone,
  hasRestic,
  nightly,
  OFFSITE_PASSWORD,
  offsiteEnvironment,
  offsiteHosts,
  restic,
  RestServer,
  runScript,
  snapshots,
  startRestServer,
  SystemFolders,
  treeDigest,
  writeUploads,
} from "../support";

jest.setTimeout(90_000);
const describeRestic = hasRestic() || process.env.CI ? describe : describe.skip;
const fixture = offsiteHosts();
const PASSWORD = OFFSITE_PASSWORD;
let f: SystemFolders;
/** A fresh host; `f` is its folders. */
function host(repository?: string, password = PASSWORD) {
  const h = fixture.host(repository, password);
  f = h.folders;
  return h;
}

describeRestic("the off-site copy behind a real REST server on loopback (rclone serve restic)", () => {
  let server: RestServer;
  beforeAll(async () => {
    if (!hasRclone()) throw new Error("rclone is not installed (apt-get install rclone)");
    server = await startRestServer(path.join(fixture.work, "rest-repo"));
  });
  afterAll(() => server?.stop());

  test("a nightly run reaches it and a restore reads it back", () => {
    const { root, env } = host(server.url);
    const r = nightly(env, "20261206T030000Z");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(snapshots(server.url, PASSWORD)).toHaveLength(1);
    const target = path.join(root, "back");
    expect(runScript("offsite.sh", ["restore", "--only", "acme", "--target", target], { env }).status).toBe(0);
    expect(treeDigest(path.join(target, f.acme))).toEqual(treeDigest(f.acme));
  });

  test("an unreachable server fails the run with one clear line; the local dumps are still made", async () => {
    const { env } = host(`rest:http://127.0.0.1:${await closedPort()}/`);
    const r = nightly(env, "20261207T030000Z");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^offsite: FAILED off-site: cannot open the repository: the repository is unreachable: .*connection refused/m,
    );
    expect(fs.existsSync(path.join(f.backups, "ems_app_20261207T030000Z.dump"))).toBe(true);
    expect(fs.existsSync(path.join(f.state, "last-backup"))).toBe(false);
  });
});

describeRestic("faults fail the run, never a silent success", () => {
  test("a wrong repository password", () => {
    const { repo, env } = host();
    restic(repo, PASSWORD, ["init"]);
    const wrong = {
      ...env,
      ...offsiteEnvironment(f, { repository: repo, password: "not the password" }, path.dirname(env.OFFSITE_ENV!)),
    };
    const r = nightly(wrong, "20261208T030000Z");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^offsite: FAILED off-site: cannot open the repository: wrong repository password/m);
    expect(r.stderr + r.stdout).not.toContain("not the password");
    expect(fs.existsSync(path.join(f.backups, "ems_app_20261208T030000Z.dump"))).toBe(true);
  });

  test("a credentials file others can read is refused", () => {
    const { env } = host();
    fs.chmodSync(env.OFFSITE_ENV!, 0o644);
    const r = nightly(env, "20261209T030000Z");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED off-site: .*offsite.env is readable by others \(mode 644\)/);
  });

  test("a full disk at the target", () => {
    const { root, env } = host();
    const mnt = path.join(root, "tiny");
    fs.mkdirSync(mnt);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
    if (mounted.status !== 0) {
      if (process.env.CI) throw new Error(`cannot mount a tmpfs: ${mounted.stderr}`);
      return;
    }
    try {
      writeUploads(f.uploads.ems, { "big.bin": crypto.randomBytes(4_000_000) });
      const full = {
        ...env,
        ...offsiteEnvironment(
          f,
          { repository: path.join(mnt, "repo"), password: PASSWORD },
          path.dirname(env.OFFSITE_ENV!),
        ),
      };
      const r = nightly(full, "20261210T030000Z");
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^offsite: FAILED off-site backup: the repository's disk is full/m);
      expect(fs.existsSync(path.join(f.state, "last-backup"))).toBe(false);
    } finally {
      spawnSync("umount", ["-l", mnt]);
    }
  });

  /** A restic holding the repository's lock: `restic backup --stdin` reading from a pipe we keep open. */
  function holdLock(repo: string) {
    const child = spawn("restic", ["--no-cache", "backup", "--stdin", "--host", "other"], {
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD },
      stdio: ["pipe", "ignore", "ignore"],
    });
    child.stdin!.write("partial");
    return child;
  }
  /** The lock files (the local backend writes each through a `-tmp-` file first). */
  const locks = (repo: string) => fs.readdirSync(path.join(repo, "locks")).filter((n) => !n.includes("-tmp-"));
  const waitForLock = async (repo: string) => {
    for (let i = 0; i < 200 && locks(repo).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(locks(repo)).toHaveLength(1);
  };

  test("a stale lock (a crashed run) is removed with restic unlock and the run succeeds", async () => {
    const { repo, env } = host();
    restic(repo, PASSWORD, ["init"]);
    const crashed = holdLock(repo);
    await waitForLock(repo);
    crashed.kill("SIGKILL");
    await new Promise((r) => crashed.on("close", r));
    const r = nightly(env, "20261211T030000Z");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/the repository is locked; removing stale locks \(restic unlock, never a live one\)/);
    expect(locks(repo)).toHaveLength(0);
  });

  test("a lock held by a running restic is left alone and fails the run", async () => {
    const { repo, env } = host();
    restic(repo, PASSWORD, ["init"]);
    const running = holdLock(repo);
    try {
      await waitForLock(repo);
      const r = nightly(env, "20261212T030000Z");
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^offsite: FAILED off-site retention: the repository is locked by another restic process still running/m,
      );
      expect(locks(repo)).toHaveLength(1);
    } finally {
      running.kill("SIGKILL");
    }
  });
});

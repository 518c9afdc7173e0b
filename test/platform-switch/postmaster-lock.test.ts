/**
 * What happens on the real dockerd when a second PostgreSQL container starts on a data volume another one still
 * runs on: the situation a plain `pulumi up` to `platform: swarm` creates (Pulumi creates the Swarm Postgres task, a
 * container like any other, before it deletes the old container). PostgreSQL's only interlock is postmaster.pid:
 * the new postmaster reads the PID in it and checks it with kill(pid, 0), and the shared-memory key with shmctl. Each
 * container has its own PID and IPC namespaces: both postmasters are PID 1, so the new one takes the lock file for
 * its own leftover and the old segment is invisible to it. The image is Debian's PostgreSQL 15 (test/support).
 */
import { buildTestImages, describeWithDocker, docker, DockerScratch, IMAGES, run } from "../support";

jest.setTimeout(120_000);

const DATA = "/var/lib/postgresql/data";

describeWithDocker("two PostgreSQL containers on one data volume", () => {
  const scratch = new DockerScratch("pgl");
  let volume = "";

  beforeAll(() => {
    buildTestImages();
    volume = scratch.volume({ name: "pgdata" });
  });
  afterAll(() => scratch.cleanup());

  const start = (name: string, extra: string[] = []): string => {
    const container = scratch.track(scratch.rename(name));
    docker([
      "run",
      "-d",
      "--name",
      container,
      ...extra,
      "-e",
      "POSTGRES_PASSWORD=old-server",
      "-v",
      `${volume}:${DATA}`,
      IMAGES.postgres,
      "postgres",
    ]);
    return container;
  };
  const ready = (container: string) =>
    run("docker", ["exec", container, "pg_isready", "-q", "-U", "postgres"]).status === 0;
  const waitReady = async (container: string) => {
    for (let i = 0; i < 60 && !ready(container); i++) await new Promise((r) => setTimeout(r, 500));
    return ready(container);
  };
  const waitExit = async (container: string) => {
    for (let i = 0; i < 60; i++) {
      if (docker(["inspect", "--format", "{{.State.Running}}", container]).trim() === "false") return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  };
  const lockPid = (container: string) =>
    docker(["exec", container, "head", "-n", "1", `${DATA}/postmaster.pid`]).trim();

  test("a second container (its own PID and IPC namespaces, as a Swarm task has) starts a second postmaster on the live data folder", async () => {
    const old = start("old-postgres");
    expect(await waitReady(old)).toBe(true);
    expect(lockPid(old)).toBe("1");

    const task = start("swarm-task");
    expect(await waitReady(task)).toBe(true);
    // Both serve, on the same files: nothing stopped the second one.
    expect(ready(old)).toBe(true);
    const logs = run("docker", ["logs", task]);
    expect(`${logs.stdout}${logs.stderr}`).toContain("database system is ready to accept connections");
    expect(`${logs.stdout}${logs.stderr}`).not.toContain("lock file");
    // It took the live cluster for a crashed one and ran crash recovery (and its checkpoint) on files in use.
    expect(`${logs.stdout}${logs.stderr}`).toContain(
      "database system was not properly shut down; automatic recovery in progress",
    );
    // The lock file now names the new postmaster's PID 1 (the old one's was 1 too).
    expect(lockPid(task)).toBe("1");
    docker(["rm", "-f", task]);
    docker(["rm", "-f", old]);
  });

  test("in the same PID namespace the lock works: the second postmaster refuses and exits", async () => {
    const old = start("old-postgres-2");
    expect(await waitReady(old)).toBe(true);
    const second = start("same-pidns", ["--pid", `container:${old}`]);
    expect(await waitExit(second)).toBe(true);
    const logs = run("docker", ["logs", second]);
    expect(`${logs.stdout}${logs.stderr}`).toMatch(/FATAL: {2}lock file "postmaster.pid" already exists/);
    expect(ready(old)).toBe(true);
    docker(["rm", "-f", second]);
    docker(["stop", "-t", "30", old]);
    docker(["rm", old]);
  });

  test("once the old container has stopped cleanly the new one starts on the same data, which is what switch-platform does", async () => {
    const task = start("swarm-task-after-stop");
    expect(await waitReady(task)).toBe(true);
    const logs = run("docker", ["logs", task]);
    expect(`${logs.stdout}${logs.stderr}`).toContain("database system was shut down at");
    docker(["rm", "-f", task]);
  });
});

/**
 * status, logs and exec on a stack whose `platform` output is `swarm`: through the first manager in
 * `ems-infra:swarm`, with Swarm's commands (their output shape is the real engine's: test/docker/swarm.test.ts
 * runs the same host commands on a private swarm).
 */
import { backupRunCommand, restoreCommandPrefix } from "../../components/backup";
import { backup as backupCommand } from "../../ops/commands/backup";
import { exec as execCommand } from "../../ops/commands/exec";
import { restore as restoreCommand } from "../../ops/commands/restore";
import { logs as logsCommand } from "../../ops/commands/logs";
import { status as statusCommand } from "../../ops/commands/status";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_BACKUP, PROD_CONFIG, prodOutputs } from "../support";

const [exec, logs, status, backup, restore] = [
  execCommand,
  logsCommand,
  statusCommand,
  backupCommand,
  restoreCommand,
].map((c) => c.main);
const SWARM_BACKUP = { ...PROD_BACKUP, postgresRunsAs: "swarm-service" as const };

const SWARM = {
  nodes: [
    { address: "10.0.0.1", role: "manager", labels: { "ems.acme": "true" } },
    { address: "10.0.0.2", role: "worker", labels: { "ems.postgres": "true" } },
  ],
};
const OUTPUTS = prodOutputs({
  platform: "swarm",
  containers: { ems: "ems_system-ems", postgres: "ems_system-postgres" },
  urls: { ems: "https://api.ems.edumigsoft.com.br" },
  backupCommand: backupRunCommand(SWARM_BACKUP, "ems_system-postgres"),
  restoreCommand: restoreCommandPrefix(SWARM_BACKUP, "ems_system-postgres"),
});
const stack = () =>
  new FakeStack("prod", {
    config: { ...PROD_CONFIG, "ems-infra:platform": "swarm", "ems-infra:swarm": JSON.stringify(SWARM) },
    outputs: OUTPUTS,
  });

/** What the manager answers (the shapes `docker service ls/ps --format` print). */
function manager(emsRunning: number): FakeHost {
  return new FakeHost((command) => {
    if (command.includes("docker service ls"))
      return {
        stdout:
          `ems_system-ems\t${emsRunning}/2\nems_system-postgres\t1/1\n--- tasks\n` +
          `ems_system-ems\tnode-a\tRunning 2 hours ago\n`.repeat(emsRunning) +
          `ems_system-postgres\tnode-b\tRunning 3 days ago\n`,
      };
    if (command.includes("docker node inspect")) return { stdout: "10.0.0.2\n" };
    return {};
  });
}

describe("on the swarm platform", () => {
  test("status: replicas running/desired per service and per node, through the first manager; 0 when all are up", async () => {
    const io = fakeIo();
    const host = manager(2);
    expect(await status(["--stack", "prod"], io, fakeDeps(stack(), { host }))).toBe(0);
    expect(io.stdout).toContain(
      "SERVICE   SWARM SERVICE        REPLICAS  NODES     URL\n" +
        "ems       ems_system-ems       2/2       node-a:2  https://api.ems.edumigsoft.com.br\n" +
        "postgres  ems_system-postgres  1/1       node-b:1  -\n",
    );
    expect(io.stdout).toContain("every service at its replica count\n");
    // The replicas through the manager; the newest dump and the backup log on the database node.
    expect(host.commands.map((c) => c.commandHost)).toEqual([
      "root@10.0.0.1:22",
      "root@10.0.0.2:22",
      "root@10.0.0.2:22",
    ]);
    expect(io.stdout).toContain("newest dump: none in /root/ems_system/data/backups\n");
  });

  test("status exits 1 naming a service below its replica count", async () => {
    const io = fakeIo();
    expect(await status(["--stack", "prod"], io, fakeDeps(stack(), { host: manager(1) }))).toBe(1);
    expect(io.stderr).toContain("below their replica count: ems");
  });

  test("logs: docker service logs on the manager (every task's lines)", async () => {
    const host = manager(2);
    expect(
      await logs(["--stack", "prod", "--service", "ems", "--since", "1d"], fakeIo(), fakeDeps(stack(), { host })),
    ).toBe(0);
    expect(host.commands).toEqual([
      {
        mode: "run",
        commandHost: "root@10.0.0.1:22",
        command: "docker service logs --tail 100 --since 24h ems_system-ems 2>&1",
        tty: false,
      },
    ]);
  });

  test("exec: into a running task, on the node Swarm put it on (found through the manager)", async () => {
    const host = manager(2);
    expect(
      await exec(
        ["--stack", "prod", "--service", "postgres", "--", "psql", "-U", "postgres"],
        fakeIo(),
        fakeDeps(stack(), { host }),
      ),
    ).toBe(0);
    expect(host.commands.map((c) => [c.mode, c.commandHost])).toEqual([
      ["capture", "root@10.0.0.1:22"],
      ["run", "root@10.0.0.2:22"],
    ]);
    expect(host.commands[1].command).toBe(
      `docker exec -i "$(docker ps -q --filter label=com.docker.swarm.service.name=ems_system-postgres | head -n 1)" psql -U postgres`,
    );
  });

  test("backup: the job's own command, on the node holding the Postgres pin (ems.postgres=true)", async () => {
    const host = new FakeHost(() => ({}));
    expect(await backup(["--stack", "prod"], fakeIo(), fakeDeps(stack(), { host }))).toBe(0);
    expect(host.commands).toEqual([
      {
        mode: "run",
        commandHost: "root@10.0.0.2:22",
        command: backupRunCommand(SWARM_BACKUP, "ems_system-postgres"),
        tty: false,
      },
    ]);
    expect(host.commands[0].command).toContain("label=com.docker.swarm.service.name=ems_system-postgres");
  });

  test("restore: restore.sh into the task, on the database node", async () => {
    const host = new FakeHost(() => ({}));
    const args = ["--stack", "prod", "--file", "ems_20261129T030000Z.dump", "--yes"];
    expect(await restore(args, fakeIo(), fakeDeps(stack(), { host }))).toBe(0);
    expect(host.commands.map((c) => [c.mode, c.commandHost])).toEqual([["run", "root@10.0.0.2:22"]]);
    expect(host.commands[0].command.startsWith(restoreCommandPrefix(SWARM_BACKUP, "ems_system-postgres"))).toBe(true);
    expect(host.commands[0].command).toContain("/root/ems_system/data/backups/ems_20261129T030000Z.dump");
  });

  test("backup: a pin label on no node is refused naming it, nothing run", async () => {
    const host = new FakeHost(() => ({}));
    const unpinned = new FakeStack("prod", {
      config: {
        ...PROD_CONFIG,
        "ems-infra:platform": "swarm",
        "ems-infra:swarm": JSON.stringify({ nodes: [SWARM.nodes[0]] }),
      },
      outputs: OUTPUTS,
    });
    const io = fakeIo();
    expect(await backup(["--stack", "prod"], io, fakeDeps(unpinned, { host }))).not.toBe(0);
    expect(io.stderr).toContain("ems.postgres=true");
    expect(host.commands).toEqual([]);
  });
});

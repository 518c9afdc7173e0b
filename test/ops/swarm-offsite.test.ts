/**
 * backup --drill, restore --from offsite, status's backup lines and drift on a stack whose `platform` output is
 * `swarm`: each node's own off-site job (the stack's `offsite.nodes` output), reached with its SSH settings from
 * `ems-infra:swarm`; drift per node and per service. The host side is faked here with the shapes the real scripts
 * print (test/scripts/offsite-swarm.test.ts and test/docker/swarmBackup.test.ts run them for real).
 */
import { backup as backupCommand } from "../../ops/commands/backup";
import { drift as driftCommand } from "../../ops/commands/drift";
import { restore as restoreCommand } from "../../ops/commands/restore";
import { status as statusCommand } from "../../ops/commands/status";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, prodOutputs } from "../support";

const [backup, restore, status, drift] = [backupCommand, restoreCommand, statusCommand, driftCommand].map(
  (c) => c.main,
);

const SWARM = {
  nodes: [
    { address: "10.0.0.1", role: "manager", labels: { "ems.acme": "true" } },
    { address: "10.0.0.2", role: "worker", labels: { "ems.postgres": "true" } },
    { address: "10.0.0.3", role: "worker", labels: {} },
  ],
};
const JOB = (node: string) => `OFFSITE_HOST=ems_system@${node} sh /root/ems_system/data/bin/offsite.sh`;
const DB_JOB = `BACKUP_DIR=/root/ems_system/data/backups ${JOB("10.0.0.2")}`;
const NODES = [
  { address: "10.0.0.1", host: "ems_system@10.0.0.1", command: JOB("10.0.0.1"), database: false },
  { address: "10.0.0.2", host: "ems_system@10.0.0.2", command: DB_JOB, database: true },
  { address: "10.0.0.3", host: "ems_system@10.0.0.3", command: JOB("10.0.0.3"), database: false },
];
const CONTAINERS = { postgres: "ems_system-postgres", traefik: "ems_system-traefik", ems: "ems_system-ems" };
const EXPECT = (path: string) => ({ folders: [{ path }] });
const OUTPUTS = prodOutputs({
  platform: "swarm",
  containers: CONTAINERS,
  images: { ems: "ghcr.io/edumigsoft/ems-server:1.4.2" },
  offsite: {
    enabled: true,
    command: DB_JOB,
    stateDir: "/root/ems_system/data/offsite",
    maxAgeHours: 30,
    drillMaxAgeDays: 8,
    nodes: NODES,
  },
  swarm: {
    nodes: [
      { address: "10.0.0.1", expectations: EXPECT("/root/infra/letsencrypt") },
      {
        address: "10.0.0.2",
        expectations: {
          ...EXPECT("/root/ems_system/data/backups"),
          postgres: {
            container: "ems_system-postgres",
            runsAs: "swarm-service",
            superuser: "postgres",
            roles: ["ems_user"],
            databases: [{ name: "ems_production", owner: "ems_user" }],
          },
        },
      },
      { address: "10.0.0.3", expectations: EXPECT("/root/ems_system/data/uploads/ems") },
    ],
    replicas: { postgres: 1, traefik: 1, ems: 2 },
  },
});
const stack = (outputs = OUTPUTS) =>
  new FakeStack("prod", {
    config: { ...PROD_CONFIG, "ems-infra:platform": "swarm", "ems-infra:swarm": JSON.stringify(SWARM) },
    outputs,
  });
/** A host answering each command by the node it was sent to (`root@10.0.0.N:22`). */
function nodes(answer: (node: string, command: string) => { code?: number; stdout?: string }) {
  const host = new FakeHost(() => ({}));
  host.run = async (target, command) => {
    await FakeHost.prototype.run.call(host, target, command);
    return answer(typeof target === "string" ? target : target.host, command).code ?? 0;
  };
  host.capture = async (target, command) => {
    await FakeHost.prototype.capture.call(host, target, command);
    const a = answer(typeof target === "string" ? target : target.host, command);
    return { code: a.code ?? 0, stdout: a.stdout ?? "", stderr: "" };
  };
  return host;
}
const runs = (host: FakeHost) =>
  host.commands.filter((c) => c.mode === "run").map((c) => `${c.commandHost}: ${c.command}`);

describe("npm run backup -- --drill on a swarm", () => {
  test("each node drills its own newest snapshot, the Postgres node's first; one failure exits 1 naming the node", async () => {
    const host = nodes((node) => ({ code: node === "10.0.0.3" ? 1 : 0 }));
    const io = fakeIo();
    expect(await backup(["--stack", "prod", "--drill"], io, fakeDeps(stack(), { host }))).toBe(1);
    expect(runs(host)).toEqual([
      `root@10.0.0.2:22: ${DB_JOB} drill`,
      `root@10.0.0.1:22: ${JOB("10.0.0.1")} drill`,
      `root@10.0.0.3:22: ${JOB("10.0.0.3")} drill`,
    ]);
    expect(io.stdout).toContain("backup: drill passed on root@10.0.0.2:22 (ems_system@10.0.0.2)\n");
    expect(io.stdout).toContain(
      "backup: drill FAILED on root@10.0.0.3:22 (ems_system@10.0.0.3) (exit 1): the differences are above\n",
    );
  });
});

describe("npm run restore -- --from offsite on a swarm", () => {
  test("every node restores its own paths from its own newest snapshot", async () => {
    const host = nodes(() => ({}));
    expect(await restore(["-s", "prod", "--from", "offsite", "--yes"], fakeIo(), fakeDeps(stack(), { host }))).toBe(0);
    expect(runs(host)).toEqual([
      `root@10.0.0.2:22: ${DB_JOB} restore`,
      `root@10.0.0.1:22: ${JOB("10.0.0.1")} restore`,
      `root@10.0.0.3:22: ${JOB("10.0.0.3")} restore`,
    ]);
  });

  test("--only db runs on the Postgres node alone", async () => {
    const host = nodes(() => ({}));
    const args = ["-s", "prod", "--from", "offsite", "--only", "db", "--yes"];
    expect(await restore(args, fakeIo(), fakeDeps(stack(), { host }))).toBe(0);
    expect(runs(host)).toEqual([`root@10.0.0.2:22: ${DB_JOB} restore --only db`]);
  });

  test("--snapshot is restored by the node that made it; the others refuse it (exit 3) and that is no failure", async () => {
    const host = nodes((node) => ({ code: node === "10.0.0.1" ? 0 : 3 }));
    const io = fakeIo();
    const args = ["-s", "prod", "--from", "offsite", "--snapshot", "4f2a9c1e", "--yes"];
    expect(await restore(args, io, fakeDeps(stack(), { host }))).toBe(0);
    expect(runs(host)).toHaveLength(3);
    expect(io.stderr).toBe("");
    const nobody = nodes(() => ({ code: 3 }));
    const io2 = fakeIo();
    expect(await restore(args, io2, fakeDeps(stack(), { host: nobody }))).toBe(1);
    expect(io2.stderr).toContain("restore: no host of stack prod made snapshot 4f2a9c1e: nothing restored\n");
  });

  test("a node that fails is named and makes the restore exit 1", async () => {
    const host = nodes((node) => ({ code: node === "10.0.0.3" ? 1 : 0 }));
    const io = fakeIo();
    expect(await restore(["-s", "prod", "--from", "offsite", "--yes"], io, fakeDeps(stack(), { host }))).toBe(1);
    expect(io.stderr).toContain("restore: FAILED on root@10.0.0.3:22 (ems_system@10.0.0.3) (exit 1): see above\n");
  });
});

describe("npm run status on a swarm: the backup lines beside the replica table", () => {
  const NOW = new Date("2026-12-10T12:00:00Z");
  const recorded = (when: string) =>
    `last-backup\t${when}\t4f2a9c1e\t20261210T030000Z\t1234\nlast-drill\t2026-12-06T05:01:40Z\t3e1b0a2d\t20261206T030000Z\t0 databases, 0 tables, 3 uploads\n`;
  function cluster(stale: string | undefined) {
    return nodes((node, command) => {
      if (command.includes("docker service ls"))
        return {
          stdout:
            "ems_system-ems\t2/2\nems_system-postgres\t1/1\nems_system-traefik\t1/1\n--- tasks\n" +
            "ems_system-ems\tnode-a\tRunning 2 hours ago\nems_system-postgres\tnode-b\tRunning 3 days ago\n",
        };
      if (command.endsWith("offsite.sh status"))
        return { stdout: recorded(node === stale ? "2026-12-08T03:00:12Z" : "2026-12-10T03:00:12Z") };
      if (command.includes("backup.log")) return { stdout: "backup: done\n" };
      return {};
    });
  }

  test("the newest dump on the database node, and each node's off-site ages; 0 when all are fresh", async () => {
    const host = cluster(undefined);
    const io = fakeIo();
    expect(await status(["--stack", "prod"], io, fakeDeps(stack(), { host, now: NOW }))).toBe(0);
    expect(io.stdout).toContain("every service at its replica count\n");
    expect(io.stdout).toContain("backup log:  backup: done\n");
    for (const n of ["10.0.0.2", "10.0.0.1", "10.0.0.3"])
      expect(io.stdout).toContain(
        `[root@${n}:22 (ems_system@${n})] off-site backup: snapshot 4f2a9c1e of run 20261210T030000Z, 8h ago (2026-12-10T03:00:12Z)\n`,
      );
    expect(host.commands.filter((c) => c.command.endsWith("offsite.sh status")).map((c) => c.commandHost)).toEqual([
      "root@10.0.0.2:22",
      "root@10.0.0.1:22",
      "root@10.0.0.3:22",
    ]);
  });

  test("one node's off-site copy too old exits 1 naming the node", async () => {
    const io = fakeIo();
    expect(await status(["--stack", "prod"], io, fakeDeps(stack(), { host: cluster("10.0.0.3"), now: NOW }))).toBe(1);
    expect(io.stderr).toContain(
      "off-site: [root@10.0.0.3:22 (ems_system@10.0.0.3)] the last off-site backup is older than 30h (backup.offsite.maxAgeHours)\n",
    );
  });
});

describe("npm run drift on a swarm", () => {
  function cluster(spec: string, check: (node: string) => { code: number; stdout?: string }) {
    return nodes((node, command) => {
      if (command.includes("docker service inspect")) return { stdout: spec };
      if (command.includes(" host-check ")) return check(node);
      return {};
    });
  }
  const SPEC =
    "ems_system-postgres\t1\tpostgres:17.6-alpine\nems_system-traefik\t1\ttraefik:v3.3\n" +
    "ems_system-ems\t2\tghcr.io/edumigsoft/ems-server:1.4.2@sha256:" +
    "a".repeat(64) +
    "\n";

  test("each node's host check on that node, the roles through the Postgres task; 0 when all match", async () => {
    const host = cluster(SPEC, () => ({ code: 0 }));
    const io = fakeIo();
    expect(await drift(["--stack", "prod"], io, fakeDeps(stack(), { host }))).toBe(0);
    const checks = host.commands.filter((c) => c.command.includes(" host-check "));
    expect(checks.map((c) => c.commandHost)).toEqual(["root@10.0.0.1:22", "root@10.0.0.2:22", "root@10.0.0.3:22"]);
    const args = checks.map((c) => c.command.split(" host-check ")[1]);
    expect(args).toEqual([
      "--folder :/root/infra/letsencrypt",
      "--folder :/root/ems_system/data/backups --postgres-service ems_system-postgres:postgres --role ems_user --database ems_production:ems_user",
      "--folder :/root/ems_system/data/uploads/ems",
    ]);
    expect(host.commands.find((c) => c.command.includes("docker service inspect"))?.commandHost).toBe(
      "root@10.0.0.1:22",
    );
  });

  test("a node's missing folder, a scaled service and a changed image are each named; exit 1", async () => {
    const spec = SPEC.replace(
      "ems_system-ems\t2\tghcr.io/edumigsoft/ems-server:1.4.2",
      "ems_system-ems\t3\tghcr.io/edumigsoft/ems-server:1.5.0",
    );
    const host = cluster(spec, (node) =>
      node === "10.0.0.1" ? { code: 1, stdout: "folder /root/infra/letsencrypt: missing\n" } : { code: 0 },
    );
    const io = fakeIo();
    expect(await drift(["--stack", "prod"], io, fakeDeps(stack(), { host }))).toBe(1);
    expect(io.stdout).toContain("  folder /root/infra/letsencrypt: missing\n");
    expect(io.stdout).toContain("stack prod (node root@10.0.0.1:22) differs");
    expect(io.stdout).toContain("  service ems (ems_system-ems): replicas 3, want 2\n");
    expect(io.stdout).toContain(
      `  service ems (ems_system-ems): image ghcr.io/edumigsoft/ems-server:1.5.0@sha256:${"a".repeat(64)}, want ghcr.io/edumigsoft/ems-server:1.4.2\n`,
    );
  });

  test("a service missing from the swarm is named", async () => {
    const host = cluster(SPEC.replace(/^ems_system-traefik.*\n/m, "ems_system-traefik\tmissing\t\n"), () => ({
      code: 0,
    }));
    const io = fakeIo();
    expect(await drift(["--stack", "prod"], io, fakeDeps(stack(), { host }))).toBe(1);
    expect(io.stdout).toContain("  service traefik (ems_system-traefik): missing\n");
  });

  test("a stack deployed before the per-node expectations existed is told to deploy once", async () => {
    const { swarm: _unused, ...older } = OUTPUTS as Record<string, unknown>;
    const io = fakeIo();
    expect(
      await drift(["--stack", "prod"], io, fakeDeps(stack(older), { host: cluster(SPEC, () => ({ code: 0 })) })),
    ).toBe(1);
    expect(io.stderr).toContain("has no per-node expectations (it was deployed before they existed): deploy it once");
  });
});

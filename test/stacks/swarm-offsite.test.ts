/**
 * The off-site copy on `platform: swarm`, under the Pulumi mocks: with `backupOffsite` set, each node that holds
 * something worth keeping gets its own job into the one repository under its own restic host, with the folders
 * swarmNodeFolders puts on it (uploads on the uploads node, by default Postgres's; none on a node that holds nothing); the outputs carry what status, backup --drill, restore and drift need per node.
 * (test/scripts/offsite-swarm.test.ts runs these jobs' commands for real against a restic repository.)
 */
import { isSecretEnvelope, plain, runStack, StackRun, SWARM_NODES, swarmProdConfig, T, TEST_SECRETS } from "../support";

const OFFSITE = { repository: "s3:https://s3.example.net/ems-backups", password: "restic-Password-0123456789" };
const DATA = "/root/ems_system/data";
const ENV = (node: string) =>
  `OFFSITE_ENV=/root/ems_system/.secrets/offsite.env OFFSITE_PATHS=${DATA}/bin/offsite.paths OFFSITE_STATE=${DATA}/offsite ` +
  `OFFSITE_HOST=ems_system@${node} OFFSITE_KEEP_DAILY=7 OFFSITE_KEEP_WEEKLY=4 OFFSITE_KEEP_MONTHLY=6 OFFSITE_LOCK_WAIT=3600`;
const PG_EXEC =
  'PG_EXEC="docker exec -i -e PGUSER=postgres $(docker ps -q --filter label=com.docker.swarm.service.name=ems_system-postgres | head -n 1 | grep . || echo no-running-task-of-ems_system-postgres-on-this-node)"';
const DB_COMMAND = `BACKUP_DIR=${DATA}/backups ${ENV("192.0.2.11")} ${PG_EXEC} DRILL_PG_IMAGE=postgres:17.6-alpine sh ${DATA}/bin/offsite.sh`;
const JOB_COMMAND = (node: string) => `${ENV(node)} sh ${DATA}/bin/offsite.sh`;
const LOG = `>> ${DATA}/logs/backup.log 2>&1`;

const withOffsite = (overrides: Record<string, string> = {}) =>
  runStack("prod", swarmProdConfig({ "ems-infra:backupOffsite": JSON.stringify(OFFSITE), ...overrides }), [
    ...Object.keys(TEST_SECRETS),
    "ems-infra:backupOffsite",
  ]);

let run: StackRun;
beforeAll(async () => {
  run = await withOffsite();
}, 60_000);

const inputs = (name: string) => plain<Record<string, string>>(run.get(T.localCommand, name).inputs);
const pathsFile = (stdin: string) => /offsite\.paths <<'EMS_INFRA_EOF'\n([^]*?)EMS_INFRA_EOF/.exec(stdin)?.[1];

test("each node copies the folders swarmNodeFolders puts on it: dumps, secrets and uploads on Postgres's, ACME and Portainer on Traefik's", () => {
  expect(pathsFile(inputs("backup-schedule").stdin)).toBe(
    "uploads\t/root/ems_system/data/uploads/ems\nuploads\t/root/ems_system/data/uploads/sms\nconfig\t/root/ems_system/.secrets\n",
  );
  expect(pathsFile(inputs("offsite-192-0-2-10-schedule").stdin)).toBe(
    "acme\t/root/infra/letsencrypt\nportainer\tvolume:infra_portainer_data\nconfig\t/root/infra/traefik/dynamic\n",
  );
  // 192.0.2.12 holds nothing worth keeping (its API logs only): no job there.
  expect(
    run.resources
      .filter((r) => !r.custom && /Backup|OffsiteJob/.test(r.type))
      .map((r) => `${r.type} ${r.name}`)
      .sort(),
  ).toEqual(["ems:infra:Backup backup", "ems:infra:OffsiteJob offsite-192-0-2-10"]);
});

test("uploads pinned to another node (swarm.pins.uploads): that node's own job copies them, the Postgres node's no more", async () => {
  const nodes = SWARM_NODES.map((n) => (n.address === "192.0.2.12" ? { ...n, labels: { "ems.uploads": "true" } } : n));
  const moved = await withOffsite({
    "ems-infra:swarm": JSON.stringify({ nodes, pins: { uploads: "ems.uploads=true" } }),
  });
  const paths = (name: string) =>
    pathsFile(plain<Record<string, string>>(moved.get(T.localCommand, `${name}-schedule`).inputs).stdin);
  expect(paths("offsite-192-0-2-12")).toBe(
    "uploads\t/root/ems_system/data/uploads/ems\nuploads\t/root/ems_system/data/uploads/sms\n",
  );
  expect(paths("backup")).toBe("config\t/root/ems_system/.secrets\n");
  expect((moved.outputs.offsite as { nodes: { address: string }[] }).nodes.map((n) => n.address)).toEqual([
    "192.0.2.10",
    "192.0.2.11",
    "192.0.2.12",
  ]);
}, 60_000);

test("every job runs on its own node, with the repository's credentials as a secret on stdin only", () => {
  for (const [name, node] of [
    ["backup", "192.0.2.11"],
    ["offsite-192-0-2-10", "192.0.2.10"],
  ]) {
    expect(inputs(`${name}-schedule`).create).toContain(`-- root@${node} 'sh -s'`);
    expect(inputs(`${name}-offsite-credentials`).create).toContain(`-- root@${node} 'sh -s'`);
    expect(isSecretEnvelope(run.get(T.localCommand, `${name}-offsite-credentials`).inputs.stdin)).toBe(true);
    const schedule = JSON.stringify(inputs(`${name}-schedule`));
    expect(schedule).not.toContain(OFFSITE.password);
    expect(schedule).not.toContain(OFFSITE.repository);
  }
});

test("the crontab lines: the Postgres node's backup.sh ends with its copy; the others run offsite.sh alone", () => {
  expect(inputs("offsite-192-0-2-10-schedule").stdin).toContain(
    `printf '%s\\n' '0 3 * * * ${JOB_COMMAND("192.0.2.10")} backup ${LOG} # ems-infra:ems_system-offsite' ` +
      `'0 5 * * 0 ${JOB_COMMAND("192.0.2.10")} drill ${LOG} # ems-infra:drill-ems_system-offsite' >>`,
  );
  expect(run.outputs.backupCommand).toBe(
    `BACKUP_DIR=${DATA}/backups KEEP_DAILY=14 KEEP_WEEKLY=8 ${PG_EXEC} ${ENV("192.0.2.11")} ${DATA}/bin/backup.sh`,
  );
});

test("the offsite output names each node's job, its restic host and command, the database's flagged", () => {
  expect(run.outputs.offsite).toEqual({
    enabled: true,
    command: DB_COMMAND,
    stateDir: `${DATA}/offsite`,
    maxAgeHours: 30,
    drillMaxAgeDays: 8,
    nodes: [
      {
        address: "192.0.2.10",
        host: "ems_system@192.0.2.10",
        command: JOB_COMMAND("192.0.2.10"),
        database: false,
      },
      { address: "192.0.2.11", host: "ems_system@192.0.2.11", command: DB_COMMAND, database: true },
    ],
  });
});

test("the swarm output: each node's folders, crontab entries and (on Postgres's) roles; each service's replicas", () => {
  const swarm = (run.outputs as unknown as { swarm: { nodes: { address: string; expectations: any }[] } }).swarm; // eslint-disable-line @typescript-eslint/no-explicit-any
  const [acme, db, plain12] = swarm.nodes;
  expect(swarm.nodes.map((n) => n.address)).toEqual(["192.0.2.10", "192.0.2.11", "192.0.2.12"]);
  expect(acme.expectations.folders).toEqual([
    { path: "/root/infra/letsencrypt", mode: "700" },
    { path: "/root/infra/traefik/dynamic", mode: "700" },
  ]);
  expect(acme.expectations.cron).toEqual({
    job: "ems_system-offsite",
    line: `0 3 * * * ${JOB_COMMAND("192.0.2.10")} backup ${LOG} # ems-infra:ems_system-offsite`,
  });
  expect(acme.expectations.drillCron.job).toBe("drill-ems_system-offsite");
  expect(acme.expectations.postgres).toBeUndefined();
  expect(db.expectations.cron.job).toBe("ems_system-backup");
  expect(db.expectations.drillCron).toEqual({
    job: "drill-ems_system-backup",
    line: `0 5 * * 0 ${DB_COMMAND} drill ${LOG} # ems-infra:drill-ems_system-backup`,
  });
  expect(db.expectations.postgres).toEqual({
    container: "ems_system-postgres",
    runsAs: "swarm-service",
    superuser: "postgres",
    roles: ["ems_user", "sms_user"],
    databases: [
      { name: "ems_production", owner: "ems_user" },
      { name: "sms_production", owner: "sms_user" },
    ],
  });
  expect(db.expectations.folders.map((f: { path: string }) => f.path)).toEqual([
    "/root/ems_system/.secrets",
    `${DATA}/backups`,
    `${DATA}/uploads/ems`,
    `${DATA}/uploads/sms`,
    `${DATA}/logs/ems`,
    `${DATA}/logs/sms`,
  ]);
  // A node that holds nothing: no folder, no crontab entry to expect.
  expect(plain12.expectations).toEqual({ folders: [] });
  expect((run.outputs as unknown as { swarm: { replicas: unknown } }).swarm.replicas).toEqual({
    postgres: 1,
    traefik: 1,
    portainer: 1,
    ems: 2,
    sms: 2,
  });
});

test("without backupOffsite no node gets a job and the output says off", async () => {
  const off = await runStack("prod", swarmProdConfig());
  expect(off.ofType(T.localCommand).filter((c) => c.name.includes("offsite"))).toEqual([]);
  expect(off.outputs.offsite).toMatchObject({ enabled: false, nodes: [] });
  const swarm = (off.outputs as unknown as { swarm: { nodes: { expectations: { drillCron?: unknown } }[] } }).swarm;
  expect(swarm.nodes.map((n) => n.expectations.drillCron)).toEqual([undefined, undefined, undefined]);
}, 60_000);

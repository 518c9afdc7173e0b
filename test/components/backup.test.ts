/** The Backup component alone: the exact crontab line, the installer it runs on the host, its outputs. */
import {
  BACKUP_SCRIPTS,
  Backup,
  backupCronLine,
  backupInstallScript,
  restoreCommandPrefix,
  swarmTaskExecTarget,
} from "../../components/backup";
import { sshCommand } from "../../components/hostCommand";
import { readScript } from "../../components/shell";
import { shellWords } from "../stacks/helpers";
import { PROD_BACKUP, runComponents, T, unwrap } from "../support";

const ARGS = PROD_BACKUP;
const CRON =
  "0 3 * * * BACKUP_DIR=/root/ems_system/data/backups KEEP_DAILY=14 KEEP_WEEKLY=8 PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres' " +
  "/root/ems_system/data/bin/backup.sh >> /root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup";

test("the crontab line, exactly", () => {
  expect(backupCronLine(ARGS, "ems_system-postgres")).toBe(CRON);
});

test("the crontab line quotes folders with spaces", () => {
  const line = backupCronLine(
    { ...ARGS, backupDir: "/srv/my backups", scriptsDir: "/srv/bin dir", logFile: "/srv/log dir/backup.log" },
    "ems_system-postgres",
  );
  expect(line).toBe(
    "0 3 * * * BACKUP_DIR='/srv/my backups' KEEP_DAILY=14 KEEP_WEEKLY=8 PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres' " +
      "'/srv/bin dir/backup.sh' >> '/srv/log dir/backup.log' 2>&1 # ems-infra:ems_system-backup",
  );
});

test("the installer writes backup.sh, backup-retention.sh, restore.sh and offsite.sh verbatim, executable, and sets the crontab line", () => {
  const script = backupInstallScript(ARGS, "ems_system-postgres");
  expect(BACKUP_SCRIPTS).toEqual(["backup.sh", "backup-retention.sh", "restore.sh", "offsite.sh"]);
  for (const file of BACKUP_SCRIPTS) {
    const body = readScript(file);
    // A line equal to the here-document's end marker would cut the script short.
    expect(body.split("\n")).not.toContain("EMS_INFRA_EOF");
    const start = `cat > /root/ems_system/data/bin/${file} <<'EMS_INFRA_EOF'\n`;
    expect(script).toContain(
      `${start}${body.replace(/\n?$/, "\n")}EMS_INFRA_EOF\nchmod 755 /root/ems_system/data/bin/${file}\n`,
    );
  }
  expect(script).toContain(`printf '%s\\n' '${CRON.replace(/'/g, `'"'"'`)}' >>`);
  expect(script.startsWith("set -eu\n")).toBe(true);
});

test("the component runs the installer with `sh -s` on the host, re-running it as an update when it changes", async () => {
  const run = await runComponents(() => new Backup("backup", { ...ARGS, postgresContainer: "ems_system-postgres" }));
  const cmd = run.get(T.localCommand, "backup-schedule");
  const script = backupInstallScript(ARGS, "ems_system-postgres");
  expect(cmd.inputs.create).toBe("sh -s");
  expect(cmd.inputs.stdin).toBe(script);
  // A changed stdin runs `update` (the same installer); triggers would replace the resource instead.
  expect(cmd.inputs.update).toBe("sh -s");
  expect(cmd.inputs.triggers).toBeUndefined();
  expect(await unwrap(run.result.cronLine)).toBe(CRON);
  expect(await unwrap(run.result.backupDir)).toBe("/root/ems_system/data/backups");
  expect(await unwrap(run.result.runCommand)).toBe(CRON.slice("0 3 * * * ".length, CRON.indexOf(" >> ")));
});

test("over SSH when a connection is given: the same local Command, `sh -s` as ssh's one remote argument", async () => {
  const connection = {
    host: "vps.edumigsoft.com.br",
    user: "root",
    port: 22,
    knownHostsFile: "/root/.ssh/known_hosts",
  };
  const run = await runComponents(
    () => new Backup("backup", { ...ARGS, postgresContainer: "ems_system-postgres", connection }),
  );
  expect(run.ofType(T.remoteCommand)).toEqual([]);
  const cmd = run.get(T.localCommand, "backup-schedule");
  expect(cmd.inputs.create).toBe(sshCommand(connection, "sh -s"));
  expect(shellWords(cmd.inputs.create).slice(-3)).toEqual(["--", "root@vps.edumigsoft.com.br", "sh -s"]);
  expect(cmd.inputs.stdin).toBe(backupInstallScript(ARGS, "ems_system-postgres"));
});

describe("on a swarm, the dumps go into the running task of the Postgres service on this node", () => {
  const SWARM_ARGS = { ...ARGS, postgresRunsAs: "swarm-service" as const };
  const PG_EXEC =
    'PG_EXEC="docker exec -i -e PGUSER=postgres $(docker ps -q --filter label=com.docker.swarm.service.name=ems_system-postgres | head -n 1 | grep . || echo no-running-task-of-ems_system-postgres-on-this-node)"';

  test("the exec target is looked up by the service's label each run, exactly", () => {
    expect(swarmTaskExecTarget("ems_system-postgres")).toBe(
      "$(docker ps -q --filter label=com.docker.swarm.service.name=ems_system-postgres | head -n 1 | grep . || echo no-running-task-of-ems_system-postgres-on-this-node)",
    );
    expect(backupCronLine(SWARM_ARGS, "ems_system-postgres")).toBe(
      `0 3 * * * BACKUP_DIR=/root/ems_system/data/backups KEEP_DAILY=14 KEEP_WEEKLY=8 ${PG_EXEC} ` +
        "/root/ems_system/data/bin/backup.sh >> /root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup",
    );
    expect(restoreCommandPrefix(SWARM_ARGS, "ems_system-postgres")).toBe(
      `${PG_EXEC} /root/ems_system/data/bin/restore.sh`,
    );
  });

  test("a service name that is not one word is refused, never put in the command", () => {
    expect(() => swarmTaskExecTarget('x"; rm -rf / #')).toThrow(/is not a Swarm service name/);
    expect(() => backupCronLine(SWARM_ARGS, "$(reboot)")).toThrow(/is not a container name/);
  });
});

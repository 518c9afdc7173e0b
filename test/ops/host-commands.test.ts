/**
 * Every host command line the ops commands build (ops/hostCommands/): the exact string for the real system's values,
 * each passes shellcheck, and the ones that need no Docker run here.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lastLogLineCommand, newestDumpCommand, restoreCommand } from "../../ops/hostCommands/backups";
import { execCommand, inspectCommand, labelFilters, tailCommand } from "../../ops/hostCommands/containers";
import { listImagesCommand, removeImagesCommand, USED_IMAGES_COMMAND } from "../../ops/hostCommands/images";
import { hostCheckCommand } from "../../ops/hostCommands/hostCheck";
import { logsCommand } from "../../ops/hostCommands/logs";
import { captureOnHost } from "../../ops/runner/hostShell";

const PROD = { system: "ems_system", environment: "production" };
const RESTORE_SH =
  "PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres' /root/ems_system/data/bin/restore.sh";

/** name → [the command line, exactly what it must be]. */
const COMMANDS: Record<string, [string, string]> = {
  labelFilters: [
    labelFilters(PROD),
    "--filter label=com.ems.system=ems_system --filter label=com.ems.environment=production",
  ],
  inspect: [
    inspectCommand(PROD, ["infra_traefik", "ems_system-postgres"]),
    "{ docker ps -aq --no-trunc --filter label=com.ems.system=ems_system --filter label=com.ems.environment=production; " +
      "printf '%s\\n' infra_traefik ems_system-postgres; } | xargs -r docker inspect",
  ],
  inspectLabelsOnly: [
    inspectCommand({ system: "crm system", environment: "production" }),
    "{ docker ps -aq --no-trunc --filter 'label=com.ems.system=crm system' --filter label=com.ems.environment=production; } | xargs -r docker inspect",
  ],
  tail: [tailCommand("ems-container-7c1e9a2", 20), "docker logs --tail 20 ems-container-7c1e9a2 2>&1"],
  execTty: [
    execCommand("ems_system-postgres", ["psql", "-U", "ems_user", "-d", "ems_production", "-c", "select 1"], true),
    "docker exec -it ems_system-postgres psql -U ems_user -d ems_production -c 'select 1'",
  ],
  execPiped: [
    execCommand("ems_system-postgres", ["pg_dump", "--schema-only", "ems_production"], false),
    "docker exec -i ems_system-postgres pg_dump --schema-only ems_production",
  ],
  logs: [
    logsCommand("ems-container-7c1e9a2", { follow: true, lines: 100, since: "10m" }),
    "docker logs --follow --tail 100 --since 10m ems-container-7c1e9a2",
  ],
  logsDays: [
    logsCommand("ems-container-7c1e9a2", { follow: false, lines: 50, since: "2d" }),
    "docker logs --tail 50 --since 48h ems-container-7c1e9a2",
  ],
  listImages: [
    listImagesCommand("ghcr.io/edumigsoft/ems-server"),
    "docker images --no-trunc --format '{{.Tag}}\t{{.ID}}\t{{.CreatedAt}}' ghcr.io/edumigsoft/ems-server",
  ],
  usedImages: [USED_IMAGES_COMMAND, "docker ps -aq --no-trunc | xargs -r docker inspect --format '{{.Image}}'"],
  removeImages: [
    removeImagesCommand("ghcr.io/edumigsoft/ems-server", ["1.4.0", "1.3.9"]),
    "docker rmi ghcr.io/edumigsoft/ems-server:1.4.0 ghcr.io/edumigsoft/ems-server:1.3.9",
  ],
  newestDump: [
    newestDumpCommand("/root/ems system/data/backups"),
    'newest=$(for f in \'/root/ems system/data/backups\'/*.dump; do [ -e "$f" ] && printf \'%s %s\\n\' "${f##*_}" "$f"; done | ' +
      "sort | tail -n 1 | cut -d ' ' -f 2-); if [ -n \"$newest\" ]; then printf '%s\\t%s\\t%s\\n' \"${newest##*/}\" " +
      '"$(wc -c < "$newest")" "$(date -r "$newest" \'+%Y-%m-%d %H:%M %Z\')"; fi',
  ],
  lastLogLine: [
    lastLogLineCommand("/root/ems_system/data/logs/backup.log"),
    "tail -n 1 /root/ems_system/data/logs/backup.log 2>/dev/null || true",
  ],
  restore: [
    restoreCommand(RESTORE_SH, "/tmp/old dump/x.dump", "ems_copy"),
    `${RESTORE_SH} '/tmp/old dump/x.dump' ems_copy`,
  ],
  restoreByName: [
    restoreCommand(RESTORE_SH, "/root/ems_system/data/backups/ems_20261129T030000Z.dump"),
    `${RESTORE_SH} /root/ems_system/data/backups/ems_20261129T030000Z.dump`,
  ],
};

/** What prod's `hostExpectations` output holds (test/stacks/ops-outputs.test.ts checks the program's own). */
const PROD_EXPECTATIONS = {
  folders: [{ path: "/root/infra/letsencrypt", mode: "700" }, { path: "/root/ems_system/data/backups" }],
  cron: {
    job: "ems_system-backup",
    line: "0 3 * * * BACKUP_DIR=/root/ems_system/data/backups /root/ems_system/data/bin/backup.sh >> /root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup",
  },
  postgres: {
    container: "ems_system-postgres",
    superuser: "postgres",
    roles: ["ems_user", "sms_user"],
    databases: [{ name: "ems_production", owner: "ems_user" }],
  },
};

describe("host commands", () => {
  it("the drift host check is host-check.sh inlined, then every expectation as a quoted argument", () => {
    const command = hostCheckCommand(PROD_EXPECTATIONS);
    expect(command.startsWith("sh -c '#!/bin/sh")).toBe(true);
    expect(command.slice(command.lastIndexOf("' host-check ") + 1)).toBe(
      " host-check --folder 700:/root/infra/letsencrypt --folder :/root/ems_system/data/backups " +
        "--cron 'ems_system-backup=0 3 * * * BACKUP_DIR=/root/ems_system/data/backups /root/ems_system/data/bin/backup.sh " +
        ">> /root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup' " +
        "--postgres ems_system-postgres:postgres --role ems_user --role sms_user --database ems_production:ems_user",
    );
  });

  it.each(Object.entries(COMMANDS))("%s is exactly the expected line", (_name, [command, expected]) => {
    expect(command).toBe(expected);
  });

  it.each(Object.entries(COMMANDS).filter(([name]) => name !== "labelFilters"))(
    "%s passes shellcheck",
    (_name, [command]) => {
      const r = spawnSync("shellcheck", ["-s", "sh", "-"], {
        input: `#!/bin/sh\n${command}\n`,
        encoding: "utf8",
        timeout: 30_000,
      });
      if (r.error) throw r.error;
      expect(r.stdout).toBe("");
      expect(r.status).toBe(0);
    },
  );

  it("newestDumpCommand prints the newest .dump with its size; nothing for an empty folder", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems backups "));
    try {
      expect((await captureOnHost("local", newestDumpCommand(dir))).stdout).toBe("");
      fs.writeFileSync(path.join(dir, "ems_production_20250313T030000Z.dump"), "PGDMP-old");
      fs.writeFileSync(path.join(dir, "globals_20250314T030000Z.sql"), "-- globals");
      fs.writeFileSync(path.join(dir, "ems_production_20250314T030000Z.dump"), "PGDMP-newest");
      fs.utimesSync(
        path.join(dir, "ems_production_20250313T030000Z.dump"),
        new Date("2025-03-13T03:00:00Z"),
        new Date("2025-03-13T03:00:00Z"),
      );
      const [name, bytes, when] = (await captureOnHost("local", newestDumpCommand(dir))).stdout.trim().split("\t");
      expect([name, bytes]).toEqual(["ems_production_20250314T030000Z.dump", "12"]);
      expect(when).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} /);
      fs.writeFileSync(
        path.join(dir, "backup.log"),
        "backup: dumped ems_production\nbackup: retention: kept 3, deleted 0\n",
      );
      expect((await captureOnHost("local", lastLogLineCommand(path.join(dir, "backup.log")))).stdout).toBe(
        "backup: retention: kept 3, deleted 0\n",
      );
      expect((await captureOnHost("local", lastLogLineCommand(path.join(dir, "missing.log")))).code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

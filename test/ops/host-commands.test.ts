/** The host command strings the ops commands run: each passes shellcheck, and the non-docker ones run here. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { inspectCommand, tailCommand } from "../../ops/containers";
import { captureOnHost } from "../../ops/hostShell";
import { listImagesCommand, removeImagesCommand, USED_IMAGES_COMMAND } from "../../ops/imageRetention";
import { logsCommand } from "../../ops/logs";
import { lastLogLineCommand, newestDumpCommand } from "../../ops/status";

const COMMANDS: Record<string, string> = {
  inspect: inspectCommand("production", ["infra_traefik", "ems_system-postgres"]),
  tail: tailCommand("ems-container-7c1e9a2", 20),
  logs: logsCommand("ems-container-7c1e9a2", { follow: true, lines: 100, since: "10m" }),
  listImages: listImagesCommand("ghcr.io/edumigsoft/ems-server"),
  usedImages: USED_IMAGES_COMMAND,
  removeImages: removeImagesCommand("ghcr.io/edumigsoft/ems-server", ["1.4.0"]),
  newestDump: newestDumpCommand("/root/ems system/data/backups"),
  lastLogLine: lastLogLineCommand("/root/ems_system/data/logs/backup.log"),
};

describe("host commands", () => {
  it.each(Object.entries(COMMANDS))("%s passes shellcheck", (_name, command) => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-"], {
      input: `#!/bin/sh\n${command}\n`,
      encoding: "utf8",
      timeout: 30_000,
    });
    if (r.error) throw r.error;
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

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

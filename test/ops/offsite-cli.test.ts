/**
 * The ops side of the off-site copy: `npm run backup -- --drill`, `npm run restore -- --from offsite` and what
 * `npm run status` says and exits with, the host side (offsite.sh status) run for real against a state folder.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backup } from "../../ops/commands/backup";
import { restore } from "../../ops/commands/restore";
import { status } from "../../ops/commands/status";
import { offsiteReport } from "../../ops/offsite";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, prodOutputs, SCRIPTS_DIR } from "../support";

const COMMAND =
  "BACKUP_DIR=/root/ems_system/data/backups OFFSITE_ENV=/root/ems_system/.secrets/offsite.env OFFSITE_PATHS=/root/ems_system/data/bin/offsite.paths OFFSITE_STATE=/root/ems_system/data/offsite OFFSITE_HOST=ems_system OFFSITE_KEEP_DAILY=7 OFFSITE_KEEP_WEEKLY=4 OFFSITE_KEEP_MONTHLY=6 PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres' DRILL_PG_IMAGE=postgres:17.6-alpine sh /root/ems_system/data/bin/offsite.sh";
const ON = {
  enabled: true,
  command: COMMAND,
  stateDir: "/root/ems_system/data/offsite",
  maxAgeHours: 30,
  drillMaxAgeDays: 8,
};
const OUTPUTS = prodOutputs({ offsite: ON });

/** The prod stack deployed from a laptop; the host answers every command with `code`. */
function setup(code = 0, outputs: Record<string, unknown> = OUTPUTS) {
  const host = new FakeHost(() => ({ code }));
  const stack = new FakeStack("prod", {
    config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "vps.edumigsoft.com.br" }) },
    outputs,
  });
  const runs = () => host.commands.filter((c) => c.mode === "run").map((c) => `${c.commandHost}: ${c.command}`);
  return { deps: fakeDeps(stack, { host }), runs };
}

describe("npm run backup -- --drill", () => {
  test("runs offsite.sh drill on the stack's host; a failed drill exits 1", async () => {
    const a = fakeIo();
    const { deps, runs } = setup();
    expect(await backup.main(["--stack", "prod", "--drill"], a, deps)).toBe(0);
    expect(runs()).toEqual([`root@vps.edumigsoft.com.br:22: ${COMMAND} drill`]);
    expect(a.stdout).toContain("backup: drill passed\n");
    const b = fakeIo();
    expect(await backup.main(["-s", "prod", "--drill"], b, setup(1).deps)).toBe(1);
    expect(b.stdout).toContain("backup: drill FAILED (exit 1)");
  });
  test("without an off-site copy there is nothing to drill: exit 2, nothing run", async () => {
    const a = fakeIo();
    const { deps, runs } = setup(0, prodOutputs({ offsite: { ...ON, enabled: false, command: "" } }));
    expect(await backup.main(["--stack", "prod", "--drill"], a, deps)).toBe(2);
    expect(runs()).toEqual([]);
    expect(a.stderr).toContain("has no off-site copy to drill: set ems-infra:backupOffsite");
    // A stack deployed before the off-site copy existed has no `offsite` output: the same answer.
    const b = fakeIo();
    expect(await backup.main(["--stack", "prod", "--drill"], b, setup(0, prodOutputs()).deps)).toBe(2);
  });
});

describe("npm run restore -- --from offsite", () => {
  test("restores the newest snapshot, or the one and part asked for, through offsite.sh on the host", async () => {
    const { deps, runs } = setup();
    expect(await restore.main(["--stack", "prod", "--from", "offsite", "--yes"], fakeIo(), deps)).toBe(0);
    expect(
      await restore.main(
        ["-s", "prod", "--from", "offsite", "--snapshot", "4f2a9c1e", "--only", "uploads", "-y"],
        fakeIo(),
        deps,
      ),
    ).toBe(0);
    expect(runs()).toEqual([
      `root@vps.edumigsoft.com.br:22: ${COMMAND} restore`,
      `root@vps.edumigsoft.com.br:22: ${COMMAND} restore --snapshot 4f2a9c1e --only uploads`,
    ]);
  });
  test("asks first; refuses without a terminal unless --yes", async () => {
    const a = fakeIo();
    const { deps, runs } = setup();
    expect(await restore.main(["--stack", "prod", "--from", "offsite"], a, deps)).toBe(2);
    expect(a.stderr).toContain("without confirmation: this is not a terminal");
    const b = fakeIo({ tty: true, answers: ["n"] });
    expect(await restore.main(["--stack", "prod", "--from", "offsite"], b, deps)).toBe(1);
    expect(b.stdout).toContain("restore: cancelled, nothing changed");
    expect(runs()).toEqual([]);
  });
  test.each([
    [["--from", "cloud"], '--from must be local or offsite (got "cloud")'],
    [["--from", "offsite", "--only", "logs"], "--only must be one of db, uploads, acme, portainer, config"],
    [["--from", "offsite", "--snapshot", "x; rm -rf /"], "--snapshot must be a snapshot id"],
    [["--from", "offsite", "--file", "ems_20261129T030000Z.dump"], "--file and --database restore a local dump"],
    [["--only", "db"], "--snapshot and --only go with --from offsite"],
    [[], "missing required flag --file <dump> (or --from offsite)"],
  ])("%j is refused: %s", async (extra, message) => {
    const a = fakeIo();
    const { deps, runs } = setup();
    expect(await restore.main(["--stack", "prod", "--yes", ...extra], a, deps)).toBe(2);
    expect(a.stderr).toContain(message);
    expect(runs()).toEqual([]);
  });
});

describe("npm run status: the off-site copy", () => {
  const NOW = new Date("2026-12-10T12:00:00Z");
  test("ages of the last backup and drill; too old, or never, is a problem", () => {
    const ok = offsiteReport(
      "last-backup\t2026-12-10T03:00:12Z\t4f2a9c1e\t20261210T030000Z\t1234\n" +
        "last-drill\t2026-12-06T05:01:40Z\t3e1b0a2d\t20261206T030000Z\t2 databases, 9 tables, 31 uploads\n",
      ON,
      NOW,
    );
    expect(ok).toEqual({
      lines: [
        "off-site backup: snapshot 4f2a9c1e of run 20261210T030000Z, 8h ago (2026-12-10T03:00:12Z)",
        "last good drill: snapshot 3e1b0a2d (run 20261206T030000Z), 4d ago: 2 databases, 9 tables, 31 uploads",
      ],
      problems: [],
    });
    const stale = offsiteReport(
      "last-backup\t2026-12-08T03:00:12Z\t4f2a9c1e\t20261208T030000Z\t1234\n" +
        "last-drill\t2026-11-29T05:01:40Z\t3e1b0a2d\t20261129T030000Z\tx\n" +
        "last-drill-failed\t2026-12-06T05:01:40Z\tlatest\t1 difference(s) with the source (above)\n",
      ON,
      NOW,
    );
    expect(stale.problems).toEqual([
      "the last off-site backup is older than 30h (backup.offsite.maxAgeHours)",
      "the last successful restore drill is older than 8d (backup.offsite.drillMaxAgeDays)",
    ]);
    expect(stale.lines[2]).toBe("last drill FAILED: snapshot latest, 4d ago: 1 difference(s) with the source (above)");
    expect(offsiteReport("", ON, NOW).problems).toHaveLength(2);
  });

  test("status reads offsite.sh's record on the host and exits 1 when the last backup is too old", async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "ems-offsite-status-"));
    try {
      // The host side for real: offsite.sh status over the state folder the nightly run and drill write.
      const command = `OFFSITE_STATE=${state} sh ${path.join(SCRIPTS_DIR, "offsite.sh")}`;
      const host = new FakeHost((cmd) => {
        if (cmd.includes("offsite.sh")) return spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
        return {};
      });
      const stack = new FakeStack("prod", {
        config: PROD_CONFIG,
        outputs: prodOutputs({ containers: {}, offsite: { ...ON, command, stateDir: state } }),
        history: [],
      });
      fs.writeFileSync(path.join(state, "last-backup"), "2026-12-08T03:00:12Z\t4f2a9c1e\t20261208T030000Z\t1234\n");
      fs.writeFileSync(path.join(state, "last-drill"), "2026-12-06T05:01:40Z\t3e1b0a2d\t20261206T030000Z\tok\n");
      const out = fakeIo();
      expect(await status.main(["--stack", "prod"], out, { ...fakeDeps(stack, { host }), now: () => NOW })).toBe(1);
      expect(out.stdout).toContain("off-site backup: snapshot 4f2a9c1e of run 20261208T030000Z, 2d ago");
      expect(out.stderr).toContain(
        "off-site: the last off-site backup is older than 30h (backup.offsite.maxAgeHours)\n",
      );
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});

import { backup } from "../../ops/commands/backup";
import { restore } from "../../ops/commands/restore";
import { dumpPath, targetDatabase } from "../../ops/restorePlan";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, prodOutputs } from "../support";

const OUTPUTS = prodOutputs();
const RESTORE = OUTPUTS.restoreCommand as string;

/** The prod stack deployed from a laptop: `ems-infra:ssh` names the VPS (the program's defaults for the rest). */
function setup(code = 0, outputs: Record<string, unknown> = OUTPUTS) {
  const host = new FakeHost(() => ({ code }));
  const stack = new FakeStack("prod", {
    config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "vps.edumigsoft.com.br" }) },
    outputs,
  });
  const runs = () =>
    host.commands.filter((c) => c.mode === "run").map((c) => ({ host: c.commandHost, command: c.command }));
  return { deps: fakeDeps(stack, { host }), runs };
}

describe("npm run backup", () => {
  test("runs the schedule's own backup command on the stack's host", async () => {
    const io = fakeIo();
    const { deps, runs } = setup();
    expect(await backup.main(["--stack", "prod"], io, deps)).toBe(0);
    expect(runs()).toEqual([{ host: "root@vps.edumigsoft.com.br:22", command: OUTPUTS.backupCommand }]);
    expect(io.stdout).toContain(
      "backup: stack prod, on root@vps.edumigsoft.com.br:22, into /root/ems_system/data/backups\nbackup: done\n",
    );
  });
  test("a failed backup exits 1 and says so", async () => {
    const io = fakeIo();
    expect(await backup.main(["--stack", "prod"], io, setup(1).deps)).toBe(1);
    expect(io.stdout).toContain("backup: FAILED (exit 1)");
  });
  test("a stack never deployed has no backup command, and says how to deploy it", async () => {
    const io = fakeIo();
    const { deps, runs } = setup(0, {});
    expect(await backup.main(["--stack", "prod"], io, deps)).toBe(1);
    expect(io.stderr).toBe(
      "error: stack prod has no outputs: it was never deployed (npm run deploy -- --stack prod)\n",
    );
    expect(runs()).toEqual([]);
  });
});

describe("npm run restore", () => {
  test("bare file names are looked up in the backups folder", () => {
    expect(dumpPath("ems_20261129T030000Z.dump", "/root/ems_system/data/backups")).toBe(
      "/root/ems_system/data/backups/ems_20261129T030000Z.dump",
    );
    expect(dumpPath("/tmp/x/ems_20261129T030000Z.dump", "/root/ems_system/data/backups")).toBe(
      "/tmp/x/ems_20261129T030000Z.dump",
    );
  });
  test("the database comes from the dump's name unless given", () => {
    expect(targetDatabase("sms_20261129T030000Z.dump")).toBe("sms");
    expect(targetDatabase("sms_20261129T030000Z.dump", "sms_copy")).toBe("sms_copy");
    expect(targetDatabase("mydump.dump")).toBeUndefined();
  });
  test("asks, then restores the dump with the stack's restore command", async () => {
    const io = fakeIo({ tty: true, answers: ["yes"] });
    const { deps, runs } = setup();
    expect(await restore.main(["--stack", "prod", "--file", "ems_20261129T030000Z.dump"], io, deps)).toBe(0);
    expect(io.stdout).toContain(
      "restore: /root/ems_system/data/backups/ems_20261129T030000Z.dump into database ems of stack prod (on root@vps.edumigsoft.com.br:22); objects in the dump are dropped and recreated\n",
    );
    expect(io.questions).toEqual(["Restore now? [y/N] "]);
    expect(runs()).toEqual([
      {
        host: "root@vps.edumigsoft.com.br:22",
        command: `${RESTORE} /root/ems_system/data/backups/ems_20261129T030000Z.dump`,
      },
    ]);
  });
  test("answering no changes nothing", async () => {
    const io = fakeIo({ tty: true, answers: ["n"] });
    const { deps, runs } = setup();
    expect(await restore.main(["--stack", "prod", "--file", "ems_20261129T030000Z.dump"], io, deps)).toBe(1);
    expect(runs()).toEqual([]);
    expect(io.stdout).toContain("restore: cancelled, nothing changed");
  });
  test("--database is passed to restore.sh, quoted", async () => {
    const { deps, runs } = setup();
    expect(
      await restore.main(
        ["--stack", "prod", "--file", "/tmp/old dump/x.dump", "--database", "ems_copy", "--yes"],
        fakeIo(),
        deps,
      ),
    ).toBe(0);
    expect(runs()[0].command).toBe(`${RESTORE} '/tmp/old dump/x.dump' ems_copy`);
  });
  test("refuses a file that is not a dump, and a dump whose database cannot be told", async () => {
    const a = fakeIo();
    expect(await restore.main(["--stack", "prod", "--file", "notes.txt"], a, setup().deps)).toBe(2);
    expect(a.stderr).toBe(
      'error: --file must be a .dump or globals_*.sql written by the backup job, or a .sql.gz (old cron dump or npm run migrate\'s pg_dumpall) (got "notes.txt")\nRun `npm run restore -- --help` for usage.\n',
    );
    const b = fakeIo();
    expect(await restore.main(["--stack", "prod", "--file", "mydump.dump"], b, setup().deps)).toBe(2);
    expect(b.stderr).toContain('cannot tell the database from "mydump.dump": add --database <db>');
  });
  test("--help prints usage and exits 0", async () => {
    const io = fakeIo();
    expect(await restore.main(["--help"], io, setup().deps)).toBe(0);
    expect(io.stdout).toContain(
      "Usage: npm run restore -- --stack <name> [--file <dump>] [--from <local|offsite>] [--snapshot <id>] [--only <db|uploads|acme|portainer|config>] [--database <db>] [--yes]",
    );
  });
});

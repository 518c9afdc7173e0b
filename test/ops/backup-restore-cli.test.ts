import { main as backupMain } from "../../ops/backup";
import { backupOutputs, describeHost, HostTarget } from "../../ops/hostShell";
import { dumpPath, main as restoreMain, targetDatabase } from "../../ops/restore";
import { Io } from "../../ops/cli";

const PROD_OUTPUTS = {
  backupCommand: {
    value:
      "BACKUP_DIR=/root/ems_system/data/backups KEEP_DAILY=14 KEEP_WEEKLY=8 PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres' /root/ems_system/data/bin/backup.sh",
  },
  restoreCommand: {
    value: "PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres' /root/ems_system/data/bin/restore.sh",
  },
  backupDir: { value: "/root/ems_system/data/backups" },
};
/** The VPS as `ems-infra:ssh: { host: vps.edumigsoft.com.br }` resolves (the program's defaults). */
const VPS: HostTarget = {
  host: "vps.edumigsoft.com.br",
  user: "root",
  port: 22,
  knownHostsFile: "/root/.ssh/known_hosts",
};

function fakeIo(answer = "", isTTY = true) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY, prompt: async () => answer };
  return { io, out, err };
}

function fakeDeps(code = 0, outputs: Record<string, { value: unknown }> = PROD_OUTPUTS) {
  const runs: Array<{ host: string; command: string }> = [];
  return {
    runs,
    deps: {
      openStack: async () => ({ outputs, target: VPS }),
      run: async (target: HostTarget, command: string) => (runs.push({ host: describeHost(target), command }), code),
    },
  };
}

describe("backup outputs", () => {
  test("a stack never deployed has no backup outputs, and says how to deploy it", () => {
    expect(() => backupOutputs("prod", {})).toThrow(
      'stack prod has no output "backupCommand": deploy it first (npm run deploy -- --stack prod)',
    );
  });
});

describe("npm run backup", () => {
  test("runs the schedule's own backup command on the stack's host", async () => {
    const { io, out } = fakeIo();
    const { deps, runs } = fakeDeps();
    expect(await backupMain(["--stack", "prod"], io, deps)).toBe(0);
    expect(runs).toEqual([{ host: "root@vps.edumigsoft.com.br:22", command: PROD_OUTPUTS.backupCommand.value }]);
    expect(out.join("")).toBe(
      "backup: stack prod, on root@vps.edumigsoft.com.br:22, into /root/ems_system/data/backups\nbackup: done\n",
    );
  });
  test("a failed backup exits 1 and says so", async () => {
    const { io, out } = fakeIo();
    expect(await backupMain(["--stack", "prod"], io, fakeDeps(1).deps)).toBe(1);
    expect(out.join("")).toContain("backup: FAILED (exit 1)");
  });
  test("--stack is required", async () => {
    const { io, err } = fakeIo();
    expect(await backupMain([], io, fakeDeps().deps)).toBe(2);
    expect(err.join("")).toBe(
      "error: missing required flag --stack <name>\nRun `npm run backup -- --help` for usage.\n",
    );
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
    const { io, out } = fakeIo("yes");
    const { deps, runs } = fakeDeps();
    expect(await restoreMain(["--stack", "prod", "--file", "ems_20261129T030000Z.dump"], io, deps)).toBe(0);
    expect(out[0]).toBe(
      "restore: /root/ems_system/data/backups/ems_20261129T030000Z.dump into database ems of stack prod (on root@vps.edumigsoft.com.br:22); objects in the dump are dropped and recreated\n",
    );
    expect(runs).toEqual([
      {
        host: "root@vps.edumigsoft.com.br:22",
        command: `${PROD_OUTPUTS.restoreCommand.value} /root/ems_system/data/backups/ems_20261129T030000Z.dump`,
      },
    ]);
  });
  test("answering no changes nothing", async () => {
    const { io, out } = fakeIo("n");
    const { deps, runs } = fakeDeps();
    expect(await restoreMain(["--stack", "prod", "--file", "ems_20261129T030000Z.dump"], io, deps)).toBe(1);
    expect(runs).toEqual([]);
    expect(out.join("")).toContain("restore: cancelled, nothing changed");
  });
  test("without a terminal it needs --yes", async () => {
    const { io, err } = fakeIo("", false);
    const { deps, runs } = fakeDeps();
    expect(await restoreMain(["--stack", "prod", "--file", "ems_20261129T030000Z.dump"], io, deps)).toBe(2);
    expect(runs).toEqual([]);
    expect(err.join("")).toBe("restore: refusing without a terminal to confirm on: add --yes\n");
  });
  test("--database is passed to restore.sh, quoted", async () => {
    const { io } = fakeIo();
    const { deps, runs } = fakeDeps();
    expect(
      await restoreMain(
        ["--stack", "prod", "--file", "/tmp/old dump/x.dump", "--database", "ems_copy", "--yes"],
        io,
        deps,
      ),
    ).toBe(0);
    expect(runs[0].command).toBe(`${PROD_OUTPUTS.restoreCommand.value} '/tmp/old dump/x.dump' ems_copy`);
  });
  test("refuses a file that is not a dump, and a dump whose database cannot be told", async () => {
    const a = fakeIo();
    expect(await restoreMain(["--stack", "prod", "--file", "notes.txt"], a.io, fakeDeps().deps)).toBe(2);
    expect(a.err[0]).toBe(
      'error: --file must be a .dump or globals_*.sql written by the backup job, or a .sql.gz (old cron dump or npm run migrate\'s pg_dumpall) (got "notes.txt")\nRun `npm run restore -- --help` for usage.\n',
    );
    const b = fakeIo();
    expect(await restoreMain(["--stack", "prod", "--file", "mydump.dump"], b.io, fakeDeps().deps)).toBe(2);
    expect(b.err[0]).toContain('cannot tell the database from "mydump.dump": add --database <db>');
  });
  test("--help prints usage and exits 0", async () => {
    const { io, out } = fakeIo();
    expect(await restoreMain(["--help"], io, fakeDeps().deps)).toBe(0);
    expect(out.join("")).toContain(
      "Usage: npm run restore -- --stack <name> [--file <dump>] [--from <local|offsite>] [--snapshot <id>] [--only <db|uploads|acme|portainer|config>] [--database <db>] [--yes]",
    );
  });
});

/**
 * The Backup component's installer (backupInstallScript) run by a real shell as the component has it run
 * (`sh -s`, the installer on stdin), in a temp folder, with a fake `crontab` first on PATH that keeps the
 * crontab in a file.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BACKUP_SCRIPTS, Backup, BackupArgs, backupCronLine, drillJobName } from "../../components/backup";
import { readScript } from "../../components/shell";
import { backupUnder, runComponents, T } from "../support";

const FAKE_CRONTAB = `#!/bin/sh
# crontab -l prints the stored table (or fails like cron does without one); crontab FILE replaces it.
if [ "$1" = "-l" ]; then
  [ -f "$CRONTAB_STORE" ] || { echo "no crontab for $(id -un)" >&2; exit 1; }
  cat "$CRONTAB_STORE"
  exit 0
fi
cp "$1" "$CRONTAB_STORE"
`;

let root: string;
let store: string;
let args: Omit<BackupArgs, "postgresContainer" | "connection">;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-backup-install-"));
  fs.mkdirSync(path.join(root, "fakebin"));
  fs.writeFileSync(path.join(root, "fakebin/crontab"), FAKE_CRONTAB, { mode: 0o755 });
  fs.mkdirSync(path.join(root, "tmp"));
  store = path.join(root, "crontab.txt");
  // Its logs folder is one no one has created yet (as when both services' logs are moved elsewhere).
  args = backupUnder(path.join(root, "root"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function install(a = args) {
  const run = await runComponents(() => new Backup("backup", { ...a, postgresContainer: "ems_system-postgres" }));
  const cmd = run.get(T.localCommand, "backup-schedule");
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  const result = spawnSync("/bin/sh", ["-c", cmd.inputs.create], {
    input: cmd.inputs.stdin,
    encoding: "utf8",
    env: {
      PATH: `${path.join(root, "fakebin")}:${process.env.PATH}`,
      CRONTAB_STORE: store,
      TMPDIR: path.join(root, "tmp"),
    },
  });
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
  return result.stdout;
}

const crontab = () =>
  fs
    .readFileSync(store, "utf8")
    .split("\n")
    .filter((l) => l !== "");
const marked = () => crontab().filter((l) => l.includes("# ems-infra:ems_system-backup"));

test("installs backup.sh, backup-retention.sh and restore.sh, executable, identical to the repository's", async () => {
  const out = await install();
  for (const file of BACKUP_SCRIPTS) {
    const target = path.join(args.scriptsDir, file);
    expect(fs.readFileSync(target, "utf8")).toBe(readScript(file).replace(/\n?$/, "\n"));
    expect((fs.statSync(target).mode & 0o777).toString(8)).toBe("755");
  }
  expect(fs.statSync(args.backupDir).isDirectory()).toBe(true);
  expect(fs.statSync(path.dirname(args.logFile)).isDirectory()).toBe(true);
  expect(out).toBe(`backup: scheduled '0 3 * * *' into ${args.backupDir}\n`);
  expect(fs.readdirSync(path.join(root, "tmp"))).toEqual([]);
});

test("without a crontab yet, the table gets exactly the job's line", async () => {
  await install();
  expect(crontab()).toEqual([backupCronLine(args, "ems_system-postgres")]);
});

test("after two runs there is exactly one line with the marker, and an unrelated existing line is kept", async () => {
  const other = "*/5 * * * * /usr/local/bin/healthcheck.sh >> /var/log/hc.log 2>&1";
  fs.writeFileSync(store, `# m h dom mon dow command\n${other}\n`);
  await install();
  await install();
  expect(marked()).toEqual([backupCronLine(args, "ems_system-postgres")]);
  expect(crontab()).toEqual(["# m h dom mon dow command", other, backupCronLine(args, "ems_system-postgres")]);
});

test("a new schedule replaces the job's line instead of adding one; another system's job is kept", async () => {
  const otherSystem = backupCronLine({ ...args, jobName: "ppr_system-backup" }, "ppr_system-postgres");
  fs.writeFileSync(store, `${otherSystem}\n`);
  await install();
  await install({ ...args, schedule: "30 2 * * *" });
  expect(marked()).toEqual([backupCronLine({ ...args, schedule: "30 2 * * *" }, "ems_system-postgres")]);
  expect(crontab()).toContain(otherSystem);
  expect(crontab()).toHaveLength(2);
});

test("a job whose name is longer but contains this one's (ems_system-backup-2) keeps its lines, drill included", async () => {
  const longer = { ...args, jobName: "ems_system-backup-2", offsite: undefined };
  const longerLine = backupCronLine(longer, "ems2-postgres");
  const longerDrill = `0 4 * * 0 sh /srv/ems2/bin/offsite.sh drill # ems-infra:${drillJobName(longer.jobName)}`;
  const staleOwn = backupCronLine({ ...args, schedule: "15 1 * * *" }, "ems_system-postgres");
  fs.writeFileSync(store, `${longerLine}\n${staleOwn}\n${longerDrill}\n`);
  await install();
  expect(crontab()).toEqual([longerLine, longerDrill, backupCronLine(args, "ems_system-postgres")]);
});

test("the installed cron line is a valid command line for /bin/sh", () => {
  const line = backupCronLine(args, "ems_system-postgres");
  const command = line.split(" ").slice(5).join(" ");
  expect(spawnSync("/bin/sh", ["-n", "-c", command]).status).toBe(0);
});

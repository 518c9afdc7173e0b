/**
 * host-check.sh (the read-only host drift check) run for real, through the exact command line ops/hostCommands/hostCheck.ts
 * builds: folders in a temp root, a stub `crontab` and a stub `docker` on PATH. The stub docker runs the
 * script's `psql` query against a real throwaway PostgreSQL (test/support/postgres.ts), so the roles and
 * owners query is checked on a real server too. Nothing on the machine is changed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostCheckCommand } from "../../ops/hostCommands/hostCheck";
import { HostExpectations, parseHostCheck } from "../../ops/hostDrift";
import { PgServer, postgresSuite, startPostgres } from "../support";

const { test } = postgresSuite("host-check.sh against a real PostgreSQL");
const JOB = "ems_system-backup";
const CRON_LINE = `0 3 * * * sh '/root/ems_system/data/bin/backup.sh' ems_system-postgres postgres >> '/root/ems_system/data/logs/backup.log' 2>&1 # ems-infra:${JOB}`;

let root: string;
let bin: string;
let crontabFile: string;
let dockerLog: string;
let pg: PgServer;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-hostcheck-"));
  bin = path.join(root, "bin");
  fs.mkdirSync(bin);
  crontabFile = path.join(root, "crontab.txt");
  dockerLog = path.join(root, "docker.log");
  // crontab -l like cron's: the table, or "no crontab for <user>" and exit 1 when there is none.
  fs.writeFileSync(
    path.join(bin, "crontab"),
    `#!/bin/sh\n[ "$1" = -l ] || { echo "stub crontab: only -l" >&2; exit 99; }\n[ -f "$CRONTAB_FILE" ] || { echo "no crontab for root" >&2; exit 1; }\ncat "$CRONTAB_FILE"\n`,
    { mode: 0o755 },
  );
  // docker exec <container> psql ARGS...: logged, then psql ARGS run against the test server (PG* env).
  fs.writeFileSync(
    path.join(bin, "docker"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> "$DOCKER_LOG"\n[ "$1" = exec ] || exit 98\n[ "$2" = "$PG_CONTAINER" ] || { echo "Error: No such container: $2" >&2; exit 1; }\nshift 2\n[ "$1" = psql ] || exit 97\nshift\nexec psql "$@"\n`,
    { mode: 0o755 },
  );
  pg = await startPostgres();
  pg.psql(`CREATE ROLE ems_user LOGIN; CREATE ROLE sms_user LOGIN; CREATE ROLE nologin_role NOLOGIN;
    CREATE DATABASE ems_production OWNER ems_user; CREATE DATABASE sms_production OWNER postgres;`);
}, 60_000);

afterAll(() => {
  pg?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

function folder(name: string, mode: number): string {
  const dir = path.join(root, "host", name);
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, mode);
  return dir;
}

function check(exp: HostExpectations, crontab?: string) {
  if (crontab === undefined) fs.rmSync(crontabFile, { force: true });
  else fs.writeFileSync(crontabFile, crontab);
  const r = spawnSync("sh", ["-c", hostCheckCommand(exp)], {
    env: {
      ...pg.env,
      PATH: `${bin}:${pg.env.PATH}`,
      CRONTAB_FILE: crontabFile,
      DOCKER_LOG: dockerLog,
      PG_CONTAINER: "ems_system-postgres",
    },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const postgres = (roles: string[], databases: { name: string; owner: string }[]) => ({
  container: "ems_system-postgres",
  superuser: pg.user,
  roles,
  databases,
});

test("a host as deployed: no line printed, exit 0", () => {
  const secrets = folder("secrets", 0o700);
  const uploads = folder("uploads/ems", 0o755);
  const r = check(
    {
      folders: [{ path: secrets, mode: "700" }, { path: uploads }],
      cron: { job: JOB, line: CRON_LINE },
      postgres: postgres(["ems_user", "sms_user"], [{ name: "ems_production", owner: "ems_user" }]),
    },
    `MAILTO=""\n5 * * * * other-job\n${CRON_LINE}\n`,
  );
  expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(parseHostCheck(r)).toEqual({ ok: true, incomplete: false, differences: [] });
});

test("each difference is named on its own line and the check exits 1", () => {
  const wrongMode = folder("letsencrypt", 0o755);
  const file = path.join(root, "host", "a-file");
  fs.writeFileSync(file, "");
  const missing = path.join(root, "host", "backups with space");
  const r = check(
    {
      folders: [{ path: wrongMode, mode: "700" }, { path: missing }, { path: file }],
      cron: { job: JOB, line: CRON_LINE },
      postgres: postgres(
        ["ems_user", "crm_user", "nologin_role"],
        [
          { name: "sms_production", owner: "sms_user" },
          { name: "crm_production", owner: "crm_user" },
        ],
      ),
    },
    `${CRON_LINE.replace("0 3", "0 4")}\n`,
  );
  expect(r.code).toBe(1);
  expect(r.stdout.trim().split("\n")).toEqual([
    `folder ${wrongMode}: mode 755, want 700`,
    `folder ${missing}: missing`,
    `folder ${file}: not a folder`,
    `cron: ems-infra:${JOB} entry differs: ${CRON_LINE.replace("0 3", "0 4")}`,
    "role crm_user: missing",
    "role nologin_role: missing",
    "database sms_production: owner postgres, want sms_user",
    "database crm_production: missing",
  ]);
  const drift = parseHostCheck(r);
  expect(drift.ok).toBe(false);
  expect(drift.differences.map((d) => `${d.kind}|${d.subject}|${d.detail}`)).toEqual([
    `folder|${wrongMode}|mode 755, want 700`,
    // A path with a space: the subject is not split on it.
    `folder|${missing}|missing`,
    `folder|${file}|not a folder`,
    `cron|ems-infra:${JOB}|entry differs: ${CRON_LINE.replace("0 3", "0 4")}`,
    "role|crm_user|missing",
    "role|nologin_role|missing",
    "database|sms_production|owner postgres, want sms_user",
    "database|crm_production|missing",
  ]);
});

test("no crontab at all is a missing entry; a duplicated entry is named", () => {
  expect(check({ folders: [], cron: { job: JOB, line: CRON_LINE } }).stdout).toBe(
    `cron: ems-infra:${JOB} entry missing\n`,
  );
  const twice = check({ folders: [], cron: { job: JOB, line: CRON_LINE } }, `${CRON_LINE}\n${CRON_LINE}\n`);
  expect(twice).toMatchObject({ code: 1, stdout: `cron: ems-infra:${JOB} entry present 2 times\n` });
});

test("a longer job name's entry (ems_system-backup-2) is not counted as this job's", () => {
  const longer = CRON_LINE.replace(`# ems-infra:${JOB}`, `# ems-infra:${JOB}-2`);
  expect(check({ folders: [], cron: { job: JOB, line: CRON_LINE } }, `${longer}\n${CRON_LINE}\n`)).toMatchObject({
    code: 0,
    stdout: "",
  });
});

test("it only reads: the roles query is one SELECT through docker exec, and nothing on the host changes", () => {
  const dir = folder("readonly", 0o750);
  fs.rmSync(dockerLog, { force: true });
  check({ folders: [{ path: dir, mode: "700" }], postgres: postgres(["ems_user"], []) }, "");
  expect(fs.statSync(dir).mode & 0o777).toBe(0o750);
  const calls = fs.readFileSync(dockerLog, "utf8").trim().split("\n");
  expect(calls.length).toBe(2);
  for (const call of calls)
    expect(call).toMatch(new RegExp(`^exec ems_system-postgres psql -X -U ${pg.user} -d postgres -Atc SELECT `));
});

test("a Postgres that cannot be queried makes the result incomplete (exit 2), never clean", () => {
  const r = check({ folders: [], postgres: { ...postgres(["ems_user"], []), container: "no-such-container" } });
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("roles: cannot query no-such-container: Error: No such container: no-such-container\n");
  expect(parseHostCheck(r)).toMatchObject({ ok: false, incomplete: true });
});

test("values reach the script quoted: a folder path with quotes and $ is checked, not run", () => {
  const odd = folder(`it's $HOME \`id\``, 0o700);
  const r = check({ folders: [{ path: odd, mode: "0700" }] });
  expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(() => hostCheckCommand({ folders: [{ path: "/a\nb" }] })).toThrow(/newline/);
  expect(() => hostCheckCommand({ folders: [{ path: "/a", mode: "rwx" }] })).toThrow(/not octal/);
});

test("an ssh or shell failure is an error, not a clean host", () => {
  expect(() =>
    parseHostCheck({ code: 255, stdout: "", stderr: "ssh: connect to host x port 22: Connection refused" }),
  ).toThrow(/exit 255.*Connection refused/);
});

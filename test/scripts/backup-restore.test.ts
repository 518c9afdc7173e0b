/**
 * backup.sh and restore.sh, run for real against a throwaway PostgreSQL server.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PgServer, postgresSuite, runScript, SCRIPTS_DIR, startPostgres } from "../support";

jest.setTimeout(60_000);
const { describe } = postgresSuite("backup.sh and restore.sh against a real PostgreSQL");

let pg: PgServer;
let work: string;

beforeAll(async () => {
  pg = await startPostgres();
  work = fs.mkdtempSync(path.join(os.tmpdir(), "ems-backup-"));
  pg.psql(SETUP_GLOBALS);
  pg.psql("CREATE DATABASE ems_app; CREATE DATABASE sms_app;");
  pg.psql(SETUP_EMS_APP, "ems_app");
  pg.psql(SETUP_SMS_APP, "sms_app");
});

afterAll(() => {
  pg?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const SETUP_GLOBALS = `CREATE ROLE ems_reader LOGIN PASSWORD 'reader-pass-1';`;

const SETUP_EMS_APP = String.raw`
SET TimeZone = 'UTC';
CREATE SEQUENCE invoice_no START 1000;
CREATE TABLE people (
  id serial PRIMARY KEY,
  name text NOT NULL,
  photo bytea,
  born date,
  created_at timestamptz NOT NULL,
  tags text[],
  meta jsonb
);
CREATE TABLE invoices (
  no integer PRIMARY KEY DEFAULT nextval('invoice_no'),
  person_id integer NOT NULL REFERENCES people(id),
  amount numeric(12,2) NOT NULL,
  issued_at timestamp NOT NULL
);
CREATE TABLE filler (id integer PRIMARY KEY, h text NOT NULL);
INSERT INTO people (name, photo, born, created_at, tags, meta) VALUES
  ('Zoë Ångström', '\x00ff10', '1990-02-28', '2024-02-29 23:59:59.123456+00', '{a,b}', '{"lang": "sv"}'),
  ('東京 タロウ', '\xdeadbeef', NULL, '2025-01-01 00:00:00+09', '{}', NULL),
  (E'emoji 🚀 "quotes" tab\there', NULL, '2000-01-01', '1999-12-31 23:00:00-01', NULL, '{"n": [1, 2.5, null]}'),
  (E'O''Brien\nsecond line', decode(repeat('ab', 1000), 'hex'), '1970-01-01', '1970-01-01 00:00:00+00', '{"x y",z}', '{}');
INSERT INTO invoices (person_id, amount, issued_at) VALUES
  (1, 10.50, '2025-03-01 10:00:00'), (2, 0.01, '2025-03-02 11:30:15.5'), (1, 99999.99, '2025-03-03 00:00:00');
SELECT nextval('invoice_no'); -- a number used and lost: last_value 1003
INSERT INTO filler SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
GRANT SELECT ON people TO ems_reader;
`;

const SETUP_SMS_APP = `
SET TimeZone = 'UTC';
CREATE TABLE messages (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL, sent_at timestamptz NOT NULL);
INSERT INTO messages (body, sent_at) VALUES ('Привет', '2025-03-01 08:00:00+00'), ('ok ✓', '2025-03-01 08:00:01+00');
`;

/** Everything we compare after a restore, as exact values. */
function snapshotEms(db = "ems_app") {
  const q = (sql: string) => JSON.parse(pg.psql(`SET TimeZone = 'UTC'; ${sql}`, db));
  return {
    people: q(`SELECT coalesce(json_agg(p ORDER BY id), '[]') FROM people p`),
    invoices: q(`SELECT coalesce(json_agg(i ORDER BY no), '[]') FROM invoices i`),
    sequence: q(`SELECT row_to_json(s) FROM (SELECT last_value, is_called FROM invoice_no) s`),
    filler: q(
      `SELECT json_build_object('n', count(*), 'md5', md5(string_agg(id || ':' || h, ',' ORDER BY id))) FROM filler`,
    ),
  };
}

const EXPECTED_EMS = {
  people: [
    {
      id: 1,
      name: "Zoë Ångström",
      photo: "\\x00ff10",
      born: "1990-02-28",
      created_at: "2024-02-29T23:59:59.123456+00:00",
      tags: ["a", "b"],
      meta: { lang: "sv" },
    },
    {
      id: 2,
      name: "東京 タロウ",
      photo: "\\xdeadbeef",
      born: null,
      created_at: "2024-12-31T15:00:00+00:00",
      tags: [],
      meta: null,
    },
    {
      id: 3,
      name: 'emoji 🚀 "quotes" tab\there',
      photo: null,
      born: "2000-01-01",
      created_at: "2000-01-01T00:00:00+00:00",
      tags: null,
      meta: { n: [1, 2.5, null] },
    },
    {
      id: 4,
      name: "O'Brien\nsecond line",
      photo: "\\x" + "ab".repeat(1000),
      born: "1970-01-01",
      created_at: "1970-01-01T00:00:00+00:00",
      tags: ["x y", "z"],
      meta: {},
    },
  ],
  invoices: [
    { no: 1000, person_id: 1, amount: 10.5, issued_at: "2025-03-01T10:00:00" },
    { no: 1001, person_id: 2, amount: 0.01, issued_at: "2025-03-02T11:30:15.5" },
    { no: 1002, person_id: 1, amount: 99999.99, issued_at: "2025-03-03T00:00:00" },
  ],
  sequence: { last_value: 1003, is_called: true },
  filler: { n: 3000, md5: "" }, // md5 filled in by the first test
};

const EXPECTED_SMS = [
  { id: 1, body: "Привет", sent_at: "2025-03-01T08:00:00+00:00" },
  { id: 2, body: "ok ✓", sent_at: "2025-03-01T08:00:01+00:00" },
];
const snapshotSms = (db = "sms_app") =>
  JSON.parse(pg.psql(`SET TimeZone = 'UTC'; SELECT coalesce(json_agg(m ORDER BY id), '[]') FROM messages m`, db));

const dbExists = (db: string) => pg.psql(`SELECT count(*) FROM pg_database WHERE datname = '${db}'`) === "1";

/** Logs in over TCP (scram-sha-256), returning the current_user or null when refused. */
function tcpLogin(user: string, password: string, db = "postgres"): string | null {
  const r = spawnSync("psql", ["-X", "-Atq", "-c", "SELECT current_user"], {
    env: { ...pg.env, PGHOST: pg.tcpHost, PGUSER: user, PGPASSWORD: password, PGDATABASE: db },
    encoding: "utf8",
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

function folder(name: string): string {
  const d = path.join(work, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

const TS = "20250301T030000Z";

describe("backup.sh then restore.sh round trip", () => {
  let dir: string;

  test("backup writes globals_<ts>.sql and one <db>_<ts>.dump per database, logging each file and its size", () => {
    EXPECTED_EMS.filler.md5 = pg.psql(`SELECT md5(string_agg(id || ':' || h, ',' ORDER BY id)) FROM filler`, "ems_app");
    expect(snapshotEms()).toEqual(EXPECTED_EMS);
    expect(snapshotSms()).toEqual(EXPECTED_SMS);
    dir = folder("roundtrip");

    const r = runScript("backup.sh", [], { env: { ...pg.env, BACKUP_DIR: dir, BACKUP_NOW: TS } });

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // Each dump comes with its tables' row counts, counted in the snapshot it dumped (for the restore drill).
    const files = [
      "ems_app_20250301T030000Z.dump",
      "ems_app_20250301T030000Z.rows",
      "globals_20250301T030000Z.sql",
      "sms_app_20250301T030000Z.dump",
      "sms_app_20250301T030000Z.rows",
    ];
    expect(fs.readdirSync(dir).sort()).toEqual(files);
    expect(fs.readFileSync(path.join(dir, `ems_app_${TS}.rows`), "utf8")).toBe(
      "public.filler\t3000\npublic.invoices\t3\npublic.people\t4\n",
    );
    const size = (f: string) => fs.statSync(path.join(dir, f)).size;
    expect(r.stdout).toBe(
      [
        `backup: wrote ${dir}/globals_${TS}.sql (${size(`globals_${TS}.sql`)} bytes)`,
        `backup: wrote ${dir}/ems_app_${TS}.dump (${size(`ems_app_${TS}.dump`)} bytes)`,
        `backup: wrote ${dir}/sms_app_${TS}.dump (${size(`sms_app_${TS}.dump`)} bytes)`,
        `backup: retention: kept 5, deleted 0 in ${dir} (KEEP_DAILY=14 KEEP_WEEKLY=8)`,
        "",
      ].join("\n"),
    );
    for (const f of files) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect(
      fs
        .readFileSync(path.join(dir, `ems_app_${TS}.dump`))
        .subarray(0, 5)
        .toString(),
    ).toBe("PGDMP");
    expect(fs.readFileSync(path.join(dir, `globals_${TS}.sql`), "utf8")).toMatch(/^CREATE ROLE ems_reader;$/m);
  });

  test("a globals file with an error other than an existing role fails, naming the file, and shows the error", () => {
    const bad = path.join(dir, `globals_${TS}-bad.sql`);
    fs.writeFileSync(bad, "CREATE ROLE ems_reader;\nALTER ROLE no_such_role_here LOGIN;\n", { mode: 0o600 });
    const r = runScript("restore.sh", [bad], { env: pg.env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERROR: {2}role "no_such_role_here" does not exist/);
    expect(r.stderr).toContain(`restore: FAILED ${bad}: the errors above happened (every other statement was applied)`);
    fs.rmSync(bad);
  });

  test("after dropping the databases and the role, restoring the globals then each dump brings back every row", () => {
    pg.psql("DROP DATABASE ems_app; DROP DATABASE sms_app; DROP ROLE ems_reader;");
    expect(dbExists("ems_app")).toBe(false);
    expect(tcpLogin("ems_reader", "reader-pass-1")).toBeNull();

    const g = runScript("restore.sh", [`${dir}/globals_${TS}.sql`], { env: pg.env });
    expect(g.stderr).toBe("");
    expect(g.status).toBe(0);
    expect(g.stdout).toBe(
      `restore: restored ${dir}/globals_${TS}.sql into the server (roles, tablespaces and their settings)\n` +
        "restore: note: 1 object(s) already existed and were altered in place\n", // the superuser itself
    );
    // The role is back with its password hash.
    expect(tcpLogin("ems_reader", "reader-pass-1")).toBe("ems_reader");

    // Database name taken from the file name.
    const e = runScript("restore.sh", [`${dir}/ems_app_${TS}.dump`], { env: pg.env });
    expect(e.stderr).toBe("");
    expect(e.status).toBe(0);
    expect(e.stdout).toBe(
      `restore: created database ems_app\nrestore: restored ${dir}/ems_app_${TS}.dump into ems_app\n`,
    );

    // Database name given explicitly.
    const s = runScript("restore.sh", [`${dir}/sms_app_${TS}.dump`, "sms_app"], { env: pg.env });
    expect(s.status).toBe(0);
    expect(s.stdout).toBe(
      `restore: created database sms_app\nrestore: restored ${dir}/sms_app_${TS}.dump into sms_app\n`,
    );

    expect(snapshotEms()).toEqual(EXPECTED_EMS);
    expect(snapshotSms()).toEqual(EXPECTED_SMS);
    // The sequence continues where it was, the grant to the restored role is back.
    expect(pg.psql("SELECT nextval('invoice_no')", "ems_app")).toBe("1004");
    expect(pg.psql("SELECT has_table_privilege('ems_reader', 'people', 'SELECT')", "ems_app")).toBe("t");
    expect(tcpLogin("ems_reader", "reader-pass-1", "ems_app")).toBe("ems_reader");
  });

  test("restoring over a database that exists replaces its contents (--clean --if-exists)", () => {
    pg.psql(
      "DELETE FROM invoices WHERE no = 1001; UPDATE people SET name = 'changed' WHERE id = 1; TRUNCATE filler;",
      "ems_app",
    );
    pg.psql("SELECT setval('invoice_no', 1000)", "ems_app");

    const r = runScript("restore.sh", [`${dir}/ems_app_${TS}.dump`, "ems_app"], { env: pg.env });

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`restore: restored ${dir}/ems_app_${TS}.dump into ems_app\n`);
    expect(snapshotEms()).toEqual(EXPECTED_EMS);
  });

  test("a dump restores under another database name", () => {
    const r = runScript("restore.sh", [`${dir}/ems_app_${TS}.dump`, "ems_app_copy"], { env: pg.env });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `restore: created database ems_app_copy\nrestore: restored ${dir}/ems_app_${TS}.dump into ems_app_copy\n`,
    );
    expect(snapshotEms("ems_app_copy")).toEqual(EXPECTED_EMS);
    pg.psql("DROP DATABASE ems_app_copy");
  });

  test("restore refuses a missing file, changing nothing", () => {
    const r = runScript("restore.sh", [`${dir}/nope_${TS}.dump`], { env: pg.env });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`restore: refusing: ${dir}/nope_${TS}.dump does not exist\n`);
    expect(dbExists("nope")).toBe(false);
  });

  test("restore refuses a file that is neither a custom-format dump nor .sql", () => {
    const f = path.join(work, "notes_20250301T030000Z.dump");
    fs.writeFileSync(f, "not a dump");
    const r = runScript("restore.sh", [f], { env: pg.env });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `restore: refusing: ${f} is neither a pg_dump custom-format archive nor a .sql file (nor a gzipped .sql.gz dump)\n`,
    );
    expect(dbExists("notes")).toBe(false);
  });
});

describe("a failed or interrupted dump", () => {
  /** A PG_EXEC wrapper: runs the command, but cuts pg_dump's output after 4096 bytes (its own broken-pipe complaint silenced: its timing varies), then `then`. */
  function wrapper(name: string, then: string): string {
    const f = path.join(work, name);
    fs.writeFileSync(
      f,
      `#!/bin/sh
if [ "$1" = pg_dump ]; then
  "$@" 2>/dev/null | head -c 4096
  ${then}
fi
exec "$@"
`,
      { mode: 0o755 },
    );
    return f;
  }

  test("pg_dump failing after writing part of the dump leaves no file under the final name, a FAILED line, exit 1, and no retention", () => {
    const dir = folder("failing");
    // Older dumps retention (KEEP_DAILY=1 KEEP_WEEKLY=0) would delete if it ran.
    const older = ["ems_app_20250101T030000Z.dump", "ems_app_20250102T030000Z.dump"];
    for (const f of older) fs.writeFileSync(path.join(dir, f), "old");
    const pgExec = wrapper("cut.sh", `echo "pg_dump: error: connection to server lost" >&2; exit 1`);

    const r = runScript("backup.sh", [], {
      env: { ...pg.env, BACKUP_DIR: dir, BACKUP_NOW: TS, PG_EXEC: pgExec, KEEP_DAILY: "1", KEEP_WEEKLY: "0" },
    });

    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      [
        "backup: FAILED ems_app: pg_dump exited with status 1: pg_dump: error: connection to server lost",
        "backup: FAILED sms_app: pg_dump exited with status 1: pg_dump: error: connection to server lost",
        "backup: 2 dump(s) failed; retention skipped, older dumps kept",
        "",
      ].join("\n"),
    );
    expect(r.stdout).toMatch(new RegExp(`^backup: wrote ${dir}/globals_${TS}\\.sql \\(\\d+ bytes\\)\\n$`));
    // No final name, no partial left behind, older dumps untouched.
    expect(fs.readdirSync(dir).sort()).toEqual([...older, `globals_${TS}.sql`]);
  });

  test("a dump whose output is not a custom-format archive is refused even when the command exits 0", () => {
    const dir = folder("garbage");
    const pgExec = path.join(work, "garbage.sh");
    fs.writeFileSync(
      pgExec,
      `#!/bin/sh\nif [ "$1" = pg_dump ]; then echo "Error: No such container: ems_system-postgres"; exit 0; fi\nexec "$@"\n`,
      {
        mode: 0o755,
      },
    );

    const r = runScript("backup.sh", [], { env: { ...pg.env, BACKUP_DIR: dir, BACKUP_NOW: TS, PG_EXEC: pgExec } });

    expect(r.status).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(
      "backup: FAILED ems_app: pg_dump exited with status 1: output is not a pg_dump custom-format archive",
    );
    expect(fs.readdirSync(dir)).toEqual([`globals_${TS}.sql`]);
  });

  test("backup.sh killed (SIGTERM to its process group) mid-dump removes the partial file and exits 143", async () => {
    const dir = folder("killed");
    const pgExec = wrapper("hang.sh", "sleep 30");
    const partial = path.join(dir, `.ems_app_${TS}.dump.partial`);

    const child = spawn("sh", [path.join(SCRIPTS_DIR, "backup.sh")], {
      env: { ...pg.env, BACKUP_DIR: dir, BACKUP_NOW: TS, PG_EXEC: pgExec },
      detached: true, // own process group, like a cron job or a terminal's foreground job
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout!.on("data", (b) => (stdout += b));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );

    // Wait until the dump is under way: 4096 bytes in the partial file.
    const deadline = Date.now() + 15_000;
    while (!(fs.existsSync(partial) && fs.statSync(partial).size === 4096)) {
      if (Date.now() > deadline) throw new Error(`partial dump never appeared; stdout: ${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fs.readdirSync(dir).sort()).toEqual([`.ems_app_${TS}.dump.partial`, `globals_${TS}.sql`]);
    process.kill(-child.pid!, "SIGTERM");

    expect(await exited).toEqual({ code: 143, signal: null });
    expect(fs.readdirSync(dir)).toEqual([`globals_${TS}.sql`]);
  });
});

describe("a backup taken while rows are being written", () => {
  let writer: ChildProcess | undefined;
  afterAll(() => {
    writer?.kill("SIGKILL");
  });

  test("restores to a consistent state: tables written in one transaction stay equal", async () => {
    pg.psql("CREATE DATABASE ledger");
    pg.psql(
      `CREATE TABLE debits (id bigserial PRIMARY KEY, amount integer NOT NULL);
       CREATE TABLE credits (id bigserial PRIMARY KEY, amount integer NOT NULL);
       CREATE TABLE totals (n bigint NOT NULL, total bigint NOT NULL);
       INSERT INTO totals VALUES (0, 0);`,
      "ledger",
    );
    const script = path.join(work, "transfer.sql");
    fs.writeFileSync(
      script,
      `\\set amt random(1, 1000)
BEGIN;
INSERT INTO debits (amount) VALUES (:amt);
INSERT INTO credits (amount) VALUES (-:amt);
UPDATE totals SET n = n + 1, total = total + :amt;
COMMIT;
`,
    );
    // Two concurrent writers on their own connections, for up to 60 s (killed when the backup is done).
    writer = spawn(path.join(pg.bindir, "pgbench"), ["-n", "-c", "2", "-T", "60", "-f", script, "ledger"], {
      env: pg.env,
      stdio: "ignore",
    });
    const count = () => Number(pg.psql("SELECT n FROM totals", "ledger"));
    const deadline = Date.now() + 15_000;
    while (count() < 200) {
      if (Date.now() > deadline) throw new Error("pgbench did not write");
      await new Promise((r) => setTimeout(r, 50));
    }

    const dir = folder("concurrent");
    const before = count();
    const r = runScript("backup.sh", [], { env: { ...pg.env, BACKUP_DIR: dir, BACKUP_NOW: TS } });
    const after = count();
    writer.kill("SIGINT");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(after).toBeGreaterThan(before); // the writers did write during the backup

    const restore = runScript("restore.sh", [`${dir}/ledger_${TS}.dump`, "ledger_restored"], { env: pg.env });
    expect(restore.status).toBe(0);

    const [debits, credits, debitSum, creditSum, n, total] = pg
      .psql(
        `SELECT (SELECT count(*) FROM debits), (SELECT count(*) FROM credits),
                (SELECT coalesce(sum(amount), 0) FROM debits), (SELECT coalesce(sum(amount), 0) FROM credits),
                n, total FROM totals`,
        "ledger_restored",
      )
      .split("|")
      .map(Number);
    expect(n).toBeGreaterThanOrEqual(before);
    expect(n).toBeLessThanOrEqual(after);
    expect(debits).toBe(n);
    expect(credits).toBe(n);
    expect(debitSum).toBe(total);
    expect(creditSum).toBe(-total);
  });
});

describe("old backups: gzipped plain dumps (.sql.gz)", () => {
  const pgBin = (tool: string) => path.join(pg.bindir, tool);
  /** What the compose VPS's cron wrote: `pg_dump -U postgres -d ems_production | gzip > ems_<date>.sql.gz`. */
  function oldCronDump(db: string, file: string): string {
    const out = path.join(folder("old-cron"), file);
    const r = spawnSync("sh", ["-c", `"$1" -d "$2" | gzip >"$3"`, "sh", pgBin("pg_dump"), db, out], {
      env: pg.env,
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    return out;
  }
  /** What `npm run migrate` writes: `pg_dumpall | gzip`. */
  function clusterDump(server: PgServer, file: string): string {
    const out = path.join(folder("cluster"), file);
    const r = spawnSync("sh", ["-c", `"$1" | gzip >"$2"`, "sh", pgBin("pg_dumpall"), out], {
      env: server.env,
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    return out;
  }

  test("an old cron dump restores row-identical into the database it is given (created when missing)", () => {
    const file = oldCronDump("ems_app", "ems_20260101.sql.gz");
    const r = runScript("restore.sh", [file, "ems_from_old"], { env: pg.env });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`restore: created database ems_from_old\nrestore: restored ${file} into ems_from_old\n`);
    expect(snapshotEms("ems_from_old")).toEqual(EXPECTED_EMS);
    // the grant to a role that exists came back too
    expect(pg.psql(`SELECT has_table_privilege('ems_reader', 'people', 'SELECT')`, "ems_from_old")).toBe("t");
  });

  test("an old cron dump without a database is refused: its name does not say which database it holds", () => {
    const file = oldCronDump("sms_app", "sms_20260101.sql.gz");
    const r = runScript("restore.sh", [file], { env: pg.env });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `restore: usage: sms_20260101.sql.gz is a one-database dump that does not say which database it holds; pass it: restore.sh FILE DATABASE\n`,
    );
  });

  test("an old cron dump into a database that has the tables fails as a whole and changes nothing", () => {
    const file = oldCronDump("sms_app", "sms_20260102.sql.gz");
    pg.psql(`INSERT INTO messages (body, sent_at) VALUES ('kept', '2025-04-01 00:00:00+00')`, "sms_app");
    const before = snapshotSms();
    const r = runScript("restore.sh", [file, "sms_app"], { env: pg.env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^restore: FAILED .*sms_20260102\.sql\.gz into sms_app: .*already exists.*nothing was changed: single transaction; restore into an empty database\)\n$/,
    );
    expect(snapshotSms()).toEqual(before);
    pg.psql(`DELETE FROM messages WHERE body = 'kept'`, "sms_app");
  });

  test("a truncated .sql.gz is refused before anything runs", () => {
    const file = oldCronDump("sms_app", "sms_20260103.sql.gz");
    const cut = path.join(path.dirname(file), "sms_20260104.sql.gz");
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 40));
    const r = runScript("restore.sh", [cut, "sms_cut"], { env: pg.env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^restore: refusing: .*sms_20260104\.sql\.gz is not a complete gzip file: /);
    expect(dbExists("sms_cut")).toBe(false);
  });

  test("a pg_dumpall .sql.gz restores every database, role and grant row-identical into an empty server", async () => {
    const file = clusterDump(pg, "cluster_20261201T020000Z.sql.gz");
    const fresh = await startPostgres();
    try {
      const r = runScript("restore.sh", [file], { env: fresh.env });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(
        `restore: restored ${file} into the server (roles and every database)\n` +
          `restore: note: 1 object(s) already existed (e.g. the superuser role) and were altered in place\n`,
      );
      const q = (sql: string, db: string) => JSON.parse(fresh.psql(`SET TimeZone = 'UTC'; ${sql}`, db));
      expect(q(`SELECT coalesce(json_agg(p ORDER BY id), '[]') FROM people p`, "ems_app")).toEqual(EXPECTED_EMS.people);
      expect(q(`SELECT coalesce(json_agg(i ORDER BY no), '[]') FROM invoices i`, "ems_app")).toEqual(
        EXPECTED_EMS.invoices,
      );
      expect(q(`SELECT row_to_json(s) FROM (SELECT last_value, is_called FROM invoice_no) s`, "ems_app")).toEqual(
        EXPECTED_EMS.sequence,
      );
      expect(q(`SELECT coalesce(json_agg(m ORDER BY id), '[]') FROM messages m`, "sms_app")).toEqual(EXPECTED_SMS);
      expect(fresh.psql(`SELECT has_table_privilege('ems_reader', 'people', 'SELECT')`, "ems_app")).toBe("t");
    } finally {
      fresh.stop();
    }
  });

  test("a pg_dumpall .sql.gz is refused on a server that has databases, naming them", () => {
    const file = clusterDump(pg, "cluster_20261201T020001Z.sql.gz");
    const before = snapshotSms();
    const r = runScript("restore.sh", [file], { env: pg.env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^restore: refusing: .* is a whole-server dump \(pg_dumpall\) and this server already has the databases .*ems_app.*sms_app.*: restore it into a new, empty volume\n$/,
    );
    expect(snapshotSms()).toEqual(before);
  });
});

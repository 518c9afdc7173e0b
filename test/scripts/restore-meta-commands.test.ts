/**
 * restore.sh reads every plain SQL dump before psql sees it: a psql meta-command outside COPY data (`\!` runs a
 * shell command as root in the Postgres container) refuses the file, naming the line; what pg_dump and pg_dumpall
 * write (COPY data with backslashes, function bodies, E'' strings, \connect, \restrict) goes through.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { runScript } from "../support";

let dir: string;
/** A stand-in for the Postgres client tools that reads its input and succeeds: the restore gets past the check. */
let fakePg: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-restore-meta-"));
  fakePg = path.join(dir, "fake-pg");
  fs.writeFileSync(fakePg, "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function restore(name: string, sql: string, extra: string[] = []) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, name.endsWith(".gz") ? zlib.gzipSync(sql) : sql);
  return runScript("restore.sh", [file, ...extra], { env: { ...process.env, PG_EXEC: fakePg } });
}

const DUMP = [
  "\\restrict Abc123",
  "SET standard_conforming_strings = on;",
  "CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $_$",
  "BEGIN RETURN E'a\\\\b' || '\\!'; END",
  "$_$;",
  "COPY public.notes (id, body) FROM stdin;",
  "1\tline with \\! and \\\\ and \\n",
  "\\.",
  "/* a comment with \\! */ SELECT 'it''s \\o /tmp/x';",
  "SELECT E'quote \\' then \\\\! still a string';",
  "\\connect ems_production",
  "\\connect -reuse-previous=on \"dbname='sms_production'\"",
  "\\unrestrict Abc123",
  "",
].join("\n");

test("a pg_dump-like file (COPY data, function bodies, strings, \\connect, \\restrict) is not refused", () => {
  const r = restore("globals_20250101T030000Z.sql", DUMP);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(restore("ems_20250101.sql.gz", DUMP, ["ems_production"]).status).toBe(0);
});

test.each([
  ["\\! at the start of a line", "SELECT 1;\n\\! id > /tmp/pwned\n", 2, "\\! id > /tmp/pwned"],
  ["\\! after a statement on the same line", "SELECT 1; \\! id\n", 1, "SELECT 1; \\! id"],
  ["\\o piping output to a program", "\\o |sh\nSELECT 'id';\n", 1, "\\o |sh"],
  ["\\copy ... program", "\\copy t from program 'id'\n", 1, "\\copy t from program 'id'"],
  ["a meta-command after COPY data ends", "COPY t (a) FROM stdin;\n\\!x\n\\.\n\\i /etc/passwd\n", 4, "\\i /etc/passwd"],
  [
    "\\connect with a connection string to another host",
    '\\connect "host=evil dbname=x"\n',
    1,
    '\\connect "host=evil dbname=x"',
  ],
])("%s is refused, naming its line, before any psql runs", (_what, sql, line, text) => {
  for (const [name, extra] of [
    ["globals_20250101T030000Z.sql", []],
    ["ems_20250101.sql.gz", ["ems_production"]],
  ] as const) {
    const r = restore(name, sql, [...extra]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`has the psql meta-command at line ${line} (${text}) outside COPY data`);
    expect(r.stdout).not.toContain("restored");
  }
});

/**
 * The backup dumps every database a service can use: for each shape of database name the schema accepts
 * (defaults of both stacks, a dashed service, reserved SQL words, 63 characters...), backup.sh run for real
 * against a throwaway PostgreSQL writes its dump, and the dump holds the service's table. The names the
 * schema refuses (postgres, template*) are the ones backup.sh skips by design.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { committedConfig, PgServer, postgresSuite, runScript, startPostgres, TEST_SECRETS } from "../support";
import { withValue } from "../stacks/helpers";

jest.setTimeout(120_000);

const { describe: describePg } = postgresSuite("the backup coverage test");

const ACCEPTED = [
  "ems_production",
  "sms_production",
  "ems",
  "sms",
  "ems_api_production",
  "_ems",
  "ems2",
  "user",
  "select",
  "order",
  "pg_ems",
  "globals",
  "ems_template",
  "postgresql",
  `d${"b".repeat(62)}`,
];
const REFUSED = ["postgres", "template0", "template1", "template_ems"];
const TS = "20260301T030000Z";

/** The problems prod is refused with when its one service's database is `name` ([] when accepted). */
function schemaProblems(name: string): string[] {
  const config = withValue({ ...committedConfig("prod"), ...TEST_SECRETS }, "services", [], {
    ems: { version: "1.2.1", port: 8181, database: name },
  });
  try {
    parseStackConfig("prod", config, new Set(Object.keys(TEST_SECRETS)));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

test("the schema accepts every name of the table and refuses the ones backup.sh skips", () => {
  expect(ACCEPTED.map((n) => [n, schemaProblems(n)])).toEqual(ACCEPTED.map((n) => [n, []]));
  for (const n of REFUSED)
    expect(schemaProblems(n)).toEqual([
      expect.stringMatching(/^ems-infra:services\.ems\.database: "(postgres|template\w*)" is/),
    ]);
});

describePg("backup.sh against a real PostgreSQL", () => {
  let pg: PgServer;
  let dir: string;

  beforeAll(async () => {
    pg = await startPostgres();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-backup-coverage-"));
    for (const [i, name] of ACCEPTED.entries()) {
      pg.psql(`CREATE ROLE "svc_${i}" LOGIN; CREATE DATABASE "${name}" OWNER "svc_${i}";`);
      pg.psql(`CREATE TABLE uploads_${i} (id int); INSERT INTO uploads_${i} VALUES (${i});`, name);
    }
  });
  afterAll(() => {
    pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("every accepted database name gets its dump, holding the service's table", () => {
    const r = runScript("backup.sh", [], { env: { ...pg.env, BACKUP_DIR: dir, BACKUP_NOW: TS } });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const dumps = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".dump"))
      .sort();
    expect(dumps).toEqual(ACCEPTED.map((n) => `${n}_${TS}.dump`).sort());
    for (const [i, name] of ACCEPTED.entries()) {
      const list = spawnSync(path.join(pg.bindir, "pg_restore"), ["--list", path.join(dir, `${name}_${TS}.dump`)], {
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(list.stdout).toContain(`TABLE public uploads_${i} `);
    }
  });
});

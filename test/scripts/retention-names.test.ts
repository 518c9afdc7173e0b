/**
 * Retention whatever the file names: a name with a tab or a newline cannot forge an entry of retention's list
 * (which once made it delete the newest dump); such files are left alone and the newest dump is always kept.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runScript } from "../support";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-retention-names-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const NEWEST = "ems_20250316T140000Z.dump";
const OLDER = "ems_20250310T030000Z.dump";
/** Its first line reads, to a line-based list, as an ems dump of 1970 whose file is the newest dump. */
const FORGED = `ems.dump\t19700101T000000Z\t${NEWEST}\nq_20250101T000000Z.dump`;

test("a name forging a list entry (tab, newline) deletes nothing it should not: the newest dump stays", () => {
  for (const name of [NEWEST, OLDER, FORGED, "tab\there_20250101T000000Z.sql", "space here_20250102T000000Z.dump"])
    fs.writeFileSync(path.join(dir, name), "x");
  const r = runScript("backup.sh", ["--retention-only"], {
    env: { ...process.env, BACKUP_DIR: dir, KEEP_DAILY: "1", KEEP_WEEKLY: "0" },
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  expect(fs.readdirSync(dir).sort()).toEqual(
    [FORGED, NEWEST, "space here_20250102T000000Z.dump", "tab\there_20250101T000000Z.sql"].sort(),
  );
  expect(r.stdout).toContain("retention: deleted");
  expect(r.stdout).toContain(OLDER);
  expect(r.stdout.match(/skipped a file whose name backup.sh never writes/g)).toHaveLength(3);
});

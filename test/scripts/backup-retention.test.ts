/**
 * Retention of backup.sh (`backup.sh --retention-only`) on folders of fake dumps with crafted
 * timestamped names. The expected survivors are written out by hand below, not recomputed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runScript } from "../support";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-retention-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function retention(env: Record<string, string> = {}, shell = "sh") {
  return runScript("backup.sh", ["--retention-only"], { env: { ...process.env, BACKUP_DIR: dir, ...env }, shell });
}

const pad = (n: number) => String(n).padStart(2, "0");
/** Timestamp in backup.sh's file-name format for a UTC date. */
const stamp = (d: Date) =>
  `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;

/**
 * 42 backups over 10 ISO weeks, 2025-01-06 (Monday, week 2) .. 2025-03-16 (Sunday, week 11):
 * - weeks 2..7: Monday, Wednesday and Friday at 03:00 (18)
 * - week 8: Monday 2025-02-17 only (1)
 * - weeks 9..11 (2025-02-24 .. 2025-03-16): every day at 03:00 (21)
 * - two extra manual backups: 2025-03-10 15:30 and 2025-03-16 14:00 (the newest) (2)
 */
function scheduleTimestamps(): string[] {
  const out: string[] = [];
  const day0 = Date.UTC(2025, 0, 6, 3, 0, 0);
  for (let i = 0; i < 70; i++) {
    const d = new Date(day0 + i * 86_400_000);
    const week = Math.floor(i / 7); // 0 = ISO week 2
    const weekday = i % 7; // 0 = Monday
    if (week <= 5 ? [0, 2, 4].includes(weekday) : week === 6 ? weekday === 0 : true) out.push(stamp(d));
  }
  out.push("20250310T153000Z", "20250316T140000Z");
  return out;
}

/** With KEEP_DAILY=14 and KEEP_WEEKLY=8, by hand. */
const KEPT_DEFAULT = [
  // daily: the newest file of each of the 14 newest days (2025-03-03 .. 2025-03-16)
  "20250316T140000Z",
  "20250315T030000Z",
  "20250314T030000Z",
  "20250313T030000Z",
  "20250312T030000Z",
  "20250311T030000Z",
  "20250310T153000Z",
  "20250309T030000Z",
  "20250308T030000Z",
  "20250307T030000Z",
  "20250306T030000Z",
  "20250305T030000Z",
  "20250304T030000Z",
  "20250303T030000Z",
  // weekly: the newest file of ISO weeks 11..4 (weeks 11 and 10 already kept above)
  "20250302T030000Z", // week 9 (Sunday)
  "20250217T030000Z", // week 8 (its only backup, a Monday)
  "20250214T030000Z", // week 7 (Friday)
  "20250207T030000Z", // week 6
  "20250131T030000Z", // week 5
  "20250124T030000Z", // week 4
].sort();

const PREFIXES: Array<[string, string]> = [
  ["ems", "dump"],
  ["sms_app", "dump"], // an underscore in the database name
  ["globals", "sql"],
];

describe("backup retention (backup.sh --retention-only)", () => {
  test("schedule fixture: 42 backups, 40 days, newest 2025-03-16 14:00", () => {
    const ts = scheduleTimestamps();
    expect(ts).toHaveLength(42);
    expect(new Set(ts.map((t) => t.slice(0, 8))).size).toBe(40);
    expect([...ts].sort().at(-1)).toBe("20250316T140000Z");
    expect(KEPT_DEFAULT).toHaveLength(20);
  });

  test.each(["sh", "bash"])(
    "keeps the newest file of the 14 newest days and of the 8 newest ISO weeks, per database, by file-name timestamp (%s)",
    (shell) => {
      const ts = scheduleTimestamps();
      const all: string[] = [];
      for (const [prefix, ext] of PREFIXES) for (const t of ts) all.push(`${prefix}_${t}.${ext}`);
      // mtimes run backwards (oldest name = newest mtime): retention must not look at them.
      all.forEach((name, i) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, name);
        const when = new Date(Date.UTC(2030, 0, 1) - i * 3_600_000);
        fs.utimesSync(f, when, when);
      });
      // Files retention must never touch.
      const bystanders = ["notes.txt", ".ems_20200101T000000Z.dump.partial", "ems_2020-01-01.dump", "README"];
      for (const name of bystanders) fs.writeFileSync(path.join(dir, name), "x");

      const r = retention({}, shell);

      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const expectedKept = PREFIXES.flatMap(([prefix, ext]) => KEPT_DEFAULT.map((t) => `${prefix}_${t}.${ext}`));
      expect(fs.readdirSync(dir).sort()).toEqual([...expectedKept, ...bystanders].sort());

      const deleted = all.filter((n) => !expectedKept.includes(n));
      expect(deleted).toHaveLength(66);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.slice(0, -1).sort()).toEqual(deleted.map((n) => `backup: retention: deleted ${dir}/${n}`).sort());
      expect(lines.at(-1)).toBe(`backup: retention: kept 60, deleted 66 in ${dir} (KEEP_DAILY=14 KEEP_WEEKLY=8)`);
    },
  );

  test("never deletes the newest file of a database, even with KEEP_DAILY=0 KEEP_WEEKLY=0", () => {
    const names = [
      "ems_20250101T030000Z.dump",
      "ems_20250102T030000Z.dump",
      "ems_20250102T120000Z.dump",
      "sms_20240601T030000Z.dump",
      "globals_20250101T030000Z.sql",
      "globals_20250102T120000Z.sql",
    ];
    for (const n of names) fs.writeFileSync(path.join(dir, n), n);

    const r = retention({ KEEP_DAILY: "0", KEEP_WEEKLY: "0" });

    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      "ems_20250102T120000Z.dump",
      "globals_20250102T120000Z.sql",
      "sms_20240601T030000Z.dump",
    ]);
    expect(r.stdout.split("\n").at(-2)).toBe(
      `backup: retention: kept 3, deleted 3 in ${dir} (KEEP_DAILY=0 KEEP_WEEKLY=0)`,
    );
  });

  test("ISO weeks run Monday..Sunday across a year end and a leap day", () => {
    const names = [
      // 2024-12-29 is the Sunday of ISO week 2024-W52; 2024-12-30 .. 2025-01-05 is 2025-W01.
      "yearend_20241229T030000Z.dump",
      "yearend_20241230T030000Z.dump",
      "yearend_20250105T030000Z.dump",
      "yearend_20250106T030000Z.dump",
      // 2024-02-26 (Monday) .. 2024-03-03 (Sunday) is one week, 2024-02-29 in the middle.
      "leap_20240225T030000Z.dump",
      "leap_20240226T030000Z.dump",
      "leap_20240229T030000Z.dump",
      "leap_20240303T030000Z.dump",
      "leap_20240304T030000Z.dump",
    ];
    for (const n of names) fs.writeFileSync(path.join(dir, n), n);

    const r = retention({ KEEP_DAILY: "0", KEEP_WEEKLY: "10" });

    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual([
      "leap_20240225T030000Z.dump",
      "leap_20240303T030000Z.dump",
      "leap_20240304T030000Z.dump",
      "yearend_20241229T030000Z.dump",
      "yearend_20250105T030000Z.dump",
      "yearend_20250106T030000Z.dump",
    ]);
  });

  test("KEEP_DAILY keeps one file per day: several backups of one day count as one day", () => {
    const names = [
      "ems_20250301T010000Z.dump",
      "ems_20250301T020000Z.dump",
      "ems_20250302T010000Z.dump",
      "ems_20250302T230000Z.dump",
      "ems_20250303T000000Z.dump",
    ];
    for (const n of names) fs.writeFileSync(path.join(dir, n), n);

    const r = retention({ KEEP_DAILY: "2", KEEP_WEEKLY: "0" });

    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(["ems_20250302T230000Z.dump", "ems_20250303T000000Z.dump"]);
  });

  test("rejects a KEEP_DAILY that is not a non-negative integer, deleting nothing", () => {
    fs.writeFileSync(path.join(dir, "ems_20250101T030000Z.dump"), "x");
    fs.writeFileSync(path.join(dir, "ems_20240101T030000Z.dump"), "x");

    const r = retention({ KEEP_DAILY: "-1" });

    expect(r.status).toBe(2);
    expect(r.stderr).toBe("backup: KEEP_DAILY must be a non-negative integer (got: -1)\n");
    expect(fs.readdirSync(dir)).toHaveLength(2);
  });

  test("backup-retention.sh DIR applies the same rules (the wrapper installed next to backup.sh)", () => {
    const names = ["ems_20250101T030000Z.dump", "ems_20250102T030000Z.dump", "ems_20250103T030000Z.dump"];
    for (const n of names) fs.writeFileSync(path.join(dir, n), n);

    const r = runScript("backup-retention.sh", [dir], { env: { ...process.env, KEEP_DAILY: "2", KEEP_WEEKLY: "0" } });

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `backup: retention: deleted ${dir}/ems_20250101T030000Z.dump\n` +
        `backup: retention: kept 2, deleted 1 in ${dir} (KEEP_DAILY=2 KEEP_WEEKLY=0)\n`,
    );
    expect(fs.readdirSync(dir).sort()).toEqual(["ems_20250102T030000Z.dump", "ems_20250103T030000Z.dump"]);
  });

  test("an empty folder is fine", () => {
    const r = retention();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`backup: retention: no dumps in ${dir}\n`);
  });
});

/**
 * The nightly off-site copy (backup.sh → offsite.sh → restic) and its restore, run for real: a throwaway
 * PostgreSQL, host folders in a temp dir, a real restic repository in a folder (the one behind a REST server
 * on loopback: offsite-faults.test.ts).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  hasRestic,
  nightly,
  OFFSITE_PASSWORD,
  offsiteHosts,
  runScript,
  snapshots,
  startPostgres,
  SystemFolders,
  treeDigest,
  writeUploads,
} from "../support";

jest.setTimeout(90_000);
const describeRestic = hasRestic() || process.env.CI ? describe : describe.skip;
const fixture = offsiteHosts();
const PASSWORD = OFFSITE_PASSWORD;
let f: SystemFolders;
/** A fresh host; `f` is its folders. */
function host(repository?: string, password = PASSWORD) {
  const h = fixture.host(repository, password);
  f = h.folders;
  return h;
}

describeRestic("nightly off-site backup", () => {
  test("one snapshot of the dumps, every uploads folder, the ACME store and the config, tagged by kind", () => {
    const { repo, env } = host();
    const r = nightly(env, "20261201T030000Z");
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/offsite: snapshot [0-9a-f]{8} \(db uploads acme config\) added \d+ bytes/);
    // The local dumps are made as before, with the row counts of the dump's snapshot.
    expect(fs.existsSync(path.join(f.backups, "ems_app_20261201T030000Z.dump"))).toBe(true);
    expect(fs.readFileSync(path.join(f.backups, "ems_app_20261201T030000Z.rows"), "utf8")).toBe(
      '"Escola"."Turma 1"\t2\npublic.empty_table\t0\npublic.people\t250\n',
    );
    const [snap] = snapshots(repo, PASSWORD);
    expect(snap.tags?.sort()).toEqual(["acme", "config", "db", "ems-infra", "uploads"]);
    expect(snap.hostname).toBe("ems_system");
    expect(snap.time).toMatch(/^2026-12-01T03:00:00/);
    expect(snap.paths.sort()).toEqual(
      [path.join(f.backups, "offsite"), f.uploads.ems, f.uploads.sms, f.acme, f.config].sort(),
    );
    const state = fs.readFileSync(path.join(f.state, "last-backup"), "utf8").split("\t");
    expect(state[1]).toBe(snap.short_id);
    expect(state[2]).toBe("20261201T030000Z");
    // Nothing secret in what the run printed (the cron log).
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  test("restore from off-site into a fresh host folder and a fresh PostgreSQL is row- and byte-identical", async () => {
    const { root, env } = host();
    expect(nightly(env, "20261202T030000Z").status).toBe(0);
    const before = { ems: treeDigest(f.uploads.ems), sms: treeDigest(f.uploads.sms), acme: treeDigest(f.acme) };
    const people = fixture.pg.psql(
      "SELECT md5(string_agg(id || name || encode(photo, 'hex'), ',' ORDER BY id)) FROM people",
      "ems_app",
    );

    const fresh = await startPostgres();
    try {
      const target = path.join(root, "new-vps");
      const r = runScript("offsite.sh", ["restore", "--target", target], {
        env: { ...env, ...fresh.env, PG_EXEC: "" },
        timeoutMs: 60_000,
      });
      expect({ status: r.status, stderr: r.stderr.replace(/^restore: note.*\n/gm, "") }).toEqual({
        status: 0,
        stderr: "",
      });
      expect(treeDigest(path.join(target, f.uploads.ems))).toEqual(before.ems);
      expect(treeDigest(path.join(target, f.uploads.sms))).toEqual(before.sms);
      // The ACME store keeps mode 600 (Traefik refuses any other).
      expect(treeDigest(path.join(target, f.acme))).toEqual(before.acme);
      expect(before.acme["ems_system.json"]).toMatch(/ 600$/);
      expect(
        fresh.psql(
          "SELECT md5(string_agg(id || name || encode(photo, 'hex'), ',' ORDER BY id)) FROM people",
          "ems_app",
        ),
      ).toBe(people);
      expect(fresh.psql(`SELECT note FROM "Escola"."Turma 1" ORDER BY id`, "ems_app")).toBe("multi\nline\nok");
      // The roles come back with the globals, before the databases that name them.
      expect(fresh.psql("SELECT rolname FROM pg_roles WHERE rolname = 'ems_user'")).toBe("ems_user");
      expect(fresh.psql("SELECT body FROM messages", "sms_app")).toBe("Olá");
    } finally {
      fresh.stop();
    }
  });

  test("--only uploads restores the uploads and nothing else", () => {
    const { root, env } = host();
    expect(nightly(env, "20261203T030000Z").status).toBe(0);
    const target = path.join(root, "only");
    const r = runScript("offsite.sh", ["restore", "--only", "uploads", "--target", target], { env, timeoutMs: 60_000 });
    expect(r.status).toBe(0);
    expect(Object.keys(treeDigest(target)).sort()).toEqual(
      [
        ...Object.keys(treeDigest(f.uploads.ems)).map((p) => path.join(f.uploads.ems, p).slice(1)),
        ...Object.keys(treeDigest(f.uploads.sms)).map((p) => path.join(f.uploads.sms, p).slice(1)),
      ].sort(),
    );
  });

  test("retention after simulated days keeps exactly what keep-daily/weekly/monthly say", () => {
    const { repo, env } = host();
    const keep = { ...env, OFFSITE_KEEP_DAILY: "3", OFFSITE_KEEP_WEEKLY: "2", OFFSITE_KEEP_MONTHLY: "2" };
    // Nightly runs on these days (03:00 UTC); the dumps are made once and re-used under each day's name.
    const days = [
      "2026-09-15",
      "2026-10-20",
      "2026-10-28",
      "2026-11-02",
      "2026-11-10",
      "2026-11-11",
      "2026-11-12",
      "2026-11-13",
    ];
    const first = nightly(keep, "20260915T030000Z");
    expect(first.status).toBe(0);
    for (const day of days.slice(1)) {
      const ts = `${day.replace(/-/g, "")}T030000Z`;
      for (const file of fs.readdirSync(f.backups).filter((n) => n.includes("20260915T030000Z")))
        fs.copyFileSync(path.join(f.backups, file), path.join(f.backups, file.replace("20260915T030000Z", ts)));
      const r = runScript("offsite.sh", ["backup", ts], { env: keep, timeoutMs: 60_000 });
      expect({ day, status: r.status, stderr: r.stderr }).toEqual({ day, status: 0, stderr: "" });
    }
    // daily 3: 11-13, 11-12, 11-11; weekly 2: week of 11-09 (11-13), week of 11-02 (11-02);
    // monthly 2: November (11-13), October (10-28).
    expect(
      snapshots(repo, PASSWORD)
        .map((s) => s.time.slice(0, 10))
        .sort(),
    ).toEqual(["2026-10-28", "2026-11-02", "2026-11-11", "2026-11-12", "2026-11-13"]);
  });

  test("the drill's checksums are read only for new or changed uploads (size and mtime, as restic decides)", () => {
    const { env } = host();
    const file = path.join(f.uploads.ems, "leia-me.txt");
    const manifest = () => fs.readFileSync(path.join(f.backups, "offsite", "uploads.sha256"), "utf8");
    const sumOf = (text: string) =>
      text
        .split("\n")
        .find((l) => l.endsWith(file.slice(1)))
        ?.split("  ")[0];
    const sha = (content: string) => crypto.createHash("sha256").update(content).digest("hex");
    const mtime = new Date("2026-12-01T10:00:00Z");
    fs.utimesSync(file, mtime, mtime);
    const first = nightly(env, "20261205T030000Z");
    expect(first.stdout).toContain("offsite: checksums: 4 new or changed upload(s) read, 4 in all");
    expect(sumOf(manifest())).toBe(sha("documento\n"));
    // Same size, same mtime: taken as unchanged, its recorded checksum kept (the file is not read again).
    fs.writeFileSync(file, "DOCUMENTO\n");
    fs.utimesSync(file, mtime, mtime);
    const second = nightly(env, "20261206T030000Z");
    expect(second.stdout).toContain("offsite: checksums: 0 new or changed upload(s) read, 4 in all");
    expect(sumOf(manifest())).toBe(sha("documento\n"));
    // A new mtime: read again.
    fs.utimesSync(file, new Date("2026-12-06T10:00:00Z"), new Date("2026-12-06T10:00:00Z"));
    writeUploads(f.uploads.sms, { "novo.txt": "novo\n" });
    const third = nightly(env, "20261207T030000Z");
    expect(third.stdout).toContain("offsite: checksums: 2 new or changed upload(s) read, 5 in all");
    expect(sumOf(manifest())).toBe(sha("DOCUMENTO\n"));
    expect(manifest().split("\n").filter(Boolean)).toHaveLength(5);
  });

  test("the second run of unchanged uploads adds only the new dumps (deduplication)", () => {
    const { env } = host();
    writeUploads(f.uploads.ems, { "grande.bin": crypto.randomBytes(3_000_000) });
    expect(nightly(env, "20261204T030000Z").status).toBe(0);
    const firstAdded = Number(fs.readFileSync(path.join(f.state, "last-backup"), "utf8").split("\t")[3]);
    expect(nightly(env, "20261205T030000Z").status).toBe(0);
    const secondAdded = Number(fs.readFileSync(path.join(f.state, "last-backup"), "utf8").split("\t")[3]);
    expect(firstAdded).toBeGreaterThan(3_000_000);
    expect(secondAdded).toBeLessThan(200_000);
  });
});

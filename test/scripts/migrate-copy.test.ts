/**
 * migrate-copy.sh on temp folders: the seed's manual migration (letsencrypt, uploads) as an idempotent copy.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runScript, SCRIPTS_DIR } from "../support";

let root: string;
let src: string;
let srcUploads: string;
let dest: string;
let destUploads: string;

const OLD = new Date("2024-01-01T00:00:00Z");
const MID = new Date("2024-06-01T00:00:00Z");
const NEW = new Date("2025-01-01T00:00:00Z");

function write(file: string, content: string, mtime: Date, mode = 0o644) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  fs.chmodSync(file, mode);
  fs.utimesSync(file, mtime, mtime);
}
const read = (file: string) => fs.readFileSync(file, "utf8");
const mode = (file: string) => fs.statSync(file).mode & 0o777;

function migrate(...args: string[]) {
  return runScript("migrate-copy.sh", args);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-migrate-"));
  src = path.join(root, "old/letsencrypt");
  srcUploads = path.join(root, "old/uploads/ems");
  dest = path.join(root, "infra/letsencrypt"); // does not exist yet
  destUploads = path.join(root, "ems_system/data/uploads/ems");

  write(path.join(src, "acme.json"), '{"le": {}}', MID, 0o644);
  write(path.join(srcUploads, "a.txt"), "a from old", MID);
  write(path.join(srcUploads, "2024/05/my photo.jpg"), "jpeg bytes", MID, 0o640);
  write(path.join(srcUploads, "stale.txt"), "stale from old", MID);
  write(path.join(srcUploads, "refresh.txt"), "refresh from old", MID);
  fs.symlinkSync("2024/05/my photo.jpg", path.join(srcUploads, "latest.jpg"));

  // DEST already holds a newer a.txt (kept) and an older refresh.txt (replaced).
  write(path.join(destUploads, "a.txt"), "a edited in new", NEW);
  write(path.join(destUploads, "refresh.txt"), "refresh old copy", OLD);
  write(path.join(destUploads, "stale.txt"), "stale same age", MID);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("migrate-copy.sh", () => {
  test("copies new and older-in-DEST files, creates DEST, never overwrites a newer DEST file", () => {
    const r = migrate(src, dest, srcUploads, destUploads);

    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `migrate: copied 1 files from ${src} to ${dest}\n` +
        // my photo.jpg, latest.jpg (a link), refresh.txt; not a.txt (newer in DEST), not stale.txt (same age)
        `migrate: copied 3 files from ${srcUploads} to ${destUploads}\n`,
    );
    expect(read(path.join(dest, "acme.json"))).toBe('{"le": {}}');
    expect(read(path.join(destUploads, "a.txt"))).toBe("a edited in new");
    expect(fs.statSync(path.join(destUploads, "a.txt")).mtime).toEqual(NEW);
    expect(read(path.join(destUploads, "refresh.txt"))).toBe("refresh from old");
    expect(read(path.join(destUploads, "stale.txt"))).toBe("stale same age");
    const photo = path.join(destUploads, "2024/05/my photo.jpg");
    expect(read(photo)).toBe("jpeg bytes");
    expect(mode(photo)).toBe(0o640); // mode kept
    expect(fs.statSync(photo).mtime).toEqual(MID); // mtime kept
    expect(fs.readlinkSync(path.join(destUploads, "latest.jpg"))).toBe("2024/05/my photo.jpg");
    expect(fs.readdirSync(destUploads).sort()).toEqual(["2024", "a.txt", "latest.jpg", "refresh.txt", "stale.txt"]);
  });

  test("acme.json ends at mode 600, copied or already in DEST", () => {
    write(path.join(root, "infra2/acme.json"), "{}", NEW, 0o644); // newer, not copied, still fixed
    const r = migrate(src, dest, src, path.join(root, "infra2"));
    expect(r.status).toBe(0);
    expect(mode(path.join(src, "acme.json"))).toBe(0o644); // SRC untouched
    expect(mode(path.join(dest, "acme.json"))).toBe(0o600);
    expect(mode(path.join(root, "infra2/acme.json"))).toBe(0o600);
    expect(read(path.join(root, "infra2/acme.json"))).toBe("{}");
  });

  test("running it twice copies nothing the second time", () => {
    expect(migrate(src, dest, srcUploads, destUploads).status).toBe(0);

    const again = migrate(src, dest, srcUploads, destUploads);

    expect(again.status).toBe(0);
    expect(again.stdout).toBe(
      `migrate: copied 0 files from ${src} to ${dest}\nmigrate: copied 0 files from ${srcUploads} to ${destUploads}\n`,
    );
  });

  test("fed on stdin to `sh -s -- SRC DEST ...` (how the program runs it on the host) it copies the same", () => {
    const r = spawnSync("sh", ["-s", "--", src, dest, srcUploads, destUploads], {
      input: fs.readFileSync(path.join(SCRIPTS_DIR, "migrate-copy.sh")),
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `migrate: copied 1 files from ${src} to ${dest}\nmigrate: copied 3 files from ${srcUploads} to ${destUploads}\n`,
    );
    expect(read(path.join(destUploads, "refresh.txt"))).toBe("refresh from old");
  });

  test("a missing SRC is reported and skipped, the other pairs still copied", () => {
    const missing = path.join(root, "old/never-existed");
    const r = migrate(missing, path.join(root, "unused"), src, dest);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`migrate: skipped ${missing}: not found\nmigrate: copied 1 files from ${src} to ${dest}\n`);
    expect(fs.existsSync(path.join(root, "unused"))).toBe(false);
  });

  test("a single file as SRC is copied into the DEST folder", () => {
    const r = migrate(path.join(src, "acme.json"), path.join(root, "single"));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`migrate: copied 1 files from ${src}/acme.json to ${root}/single\n`);
    expect(mode(path.join(root, "single/acme.json"))).toBe(0o600);
  });

  test("refuses an odd number of arguments and a DEST inside SRC", () => {
    const odd = migrate(src);
    expect(odd.status).toBe(2);
    expect(odd.stderr).toBe("migrate: usage: migrate-copy.sh SRC DEST [SRC DEST ...]\n");

    const inside = migrate(src, path.join(src, "copy"));
    expect(inside.status).toBe(1);
    expect(inside.stderr).toBe(`migrate: FAILED ${src}: DEST ${src}/copy is SRC or inside it\n`);
  });
});

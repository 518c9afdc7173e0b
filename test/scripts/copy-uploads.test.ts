/**
 * components/scripts/copy-uploads.sh on dockerd: the files an old API container wrote into its own layer are copied
 * into the host folder byte for byte and counted; a file the host folder already holds with other bytes is never
 * overwritten (the script fails and names it); a second run copies nothing; a container without the folder is "none".
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import {
  buildTestImages,
  describeWithDocker,
  docker,
  DockerScratch,
  folderHashes,
  IMAGES,
  runScript,
} from "../support";

describeWithDocker("copy-uploads.sh: out of an old container's layer", () => {
  const scratch = new DockerScratch("copyup");
  let container = "";
  const files: Record<string, Buffer> = {
    "2026/03/foto aluno.png": crypto.randomBytes(40_000),
    "2026/04/caderno-1.pdf": crypto.randomBytes(5_000),
    "vazio.txt": Buffer.alloc(0),
  };

  beforeAll(() => {
    buildTestImages();
    container = scratch.track(scratch.rename("old-ems"));
    docker(["create", "--name", container, IMAGES.ems]);
    const src = scratch.dir("layer");
    for (const [rel, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(src, "uploads", rel)), { recursive: true });
      fs.writeFileSync(path.join(src, "uploads", rel), bytes);
    }
    const tar = spawnSync("tar", ["-C", src, "--owner=0", "--group=0", "-cf", "-", "uploads"]).stdout;
    const r = spawnSync("docker", ["cp", "-", `${container}:/`], { input: tar });
    expect(r.status).toBe(0);
  }, 180_000);
  afterAll(() => scratch.cleanup(), 60_000);

  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0);

  test("copies every file byte for byte, keeps what the folder held, and a second run copies nothing", () => {
    const dest = path.join(scratch.dir("dest"), "uploads", "ems");
    fs.mkdirSync(dest, { recursive: true });
    fs.writeFileSync(path.join(dest, "leia-me.txt"), "antigo\n");
    const first = runScript("copy-uploads.sh", [container, "/uploads", dest], { timeoutMs: 60_000 });
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe(`files=3 bytes=${bytes} copied=3 same=0 conflicts=0\n`);
    for (const [rel, b] of Object.entries(files)) expect(fs.readFileSync(path.join(dest, rel)).equals(b)).toBe(true);
    expect(fs.readFileSync(path.join(dest, "leia-me.txt"), "utf8")).toBe("antigo\n");
    const again = runScript("copy-uploads.sh", [container, "/uploads", dest], { timeoutMs: 60_000 });
    expect(again.stdout).toBe(`files=3 bytes=${bytes} copied=0 same=3 conflicts=0\n`);
    expect(fs.readdirSync(path.dirname(dest)).filter((f) => f.startsWith(".cutover-uploads"))).toEqual([]);
  }, 60_000);

  test("a file the folder holds with other bytes is never overwritten: the copy fails and names it", () => {
    const dest = scratch.dir("dest-conflict");
    fs.mkdirSync(path.join(dest, "2026", "03"), { recursive: true });
    fs.writeFileSync(path.join(dest, "2026", "03", "foto aluno.png"), "outra foto");
    const before = folderHashes(dest);
    const r = runScript("copy-uploads.sh", [container, "/uploads", dest], { timeoutMs: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`files=3 bytes=${bytes} copied=2 same=0 conflicts=1\n`);
    expect(r.stderr).toBe("conflict: 2026/03/foto aluno.png\n");
    expect(folderHashes(dest)).toMatchObject(before);
  }, 60_000);

  test("a container without the folder has nothing to copy", () => {
    const r = runScript("copy-uploads.sh", [container, "/nada", scratch.dir("dest-none")], { timeoutMs: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("none\n");
  }, 60_000);
});

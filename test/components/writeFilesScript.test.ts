/**
 * writeFilesScript (components/shell.ts), the script that writes Traefik's dynamic files on the host: RUN for
 * real with /bin/sh in a temporary folder.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HostFile, writeFilesScript } from "../../components/shell";
import { tempDir } from "../support";

const run = (script: string, cwd: string) =>
  spawnSync("/bin/sh", ["-s"], {
    input: script,
    cwd,
    encoding: "utf8",
    timeout: 20_000,
    env: { PATH: String(process.env.PATH) },
  });
const modeOf = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

const MIDDLEWARES = "http:\n  middlewares:\n    api-retry:\n      retry:\n        attempts: 3\n";
const DASHBOARD =
  "http:\n  middlewares:\n    dashboard-auth:\n      basicAuth:\n        users:\n          - admin:$2a$10$abcdefghijklmnopqrstuu`x`$(id)\n";

let root: string;
beforeEach(() => {
  root = tempDir("write-files");
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test("writes each file verbatim with its mode into the folder, created when missing", () => {
  const dir = path.join(root, "infra", "traefik", "dynamic");
  const files: HostFile[] = [
    { name: "middlewares.yml", content: MIDDLEWARES, mode: "644" },
    { name: "dashboard.yml", content: DASHBOARD, mode: "600" },
    { name: "no-newline.yml", content: "a: 1", mode: "0640" },
  ];
  const result = run(writeFilesScript(dir, files), root);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(result.stdout).toBe(files.map((f) => `wrote ${dir}/${f.name}\n`).join(""));
  expect(fs.readdirSync(dir).sort()).toEqual(["dashboard.yml", "middlewares.yml", "no-newline.yml"]);
  expect(fs.readFileSync(path.join(dir, "middlewares.yml"), "utf8")).toBe(MIDDLEWARES);
  // `$`, backticks and `$(...)` in a content are data: the here-document is quoted.
  expect(fs.readFileSync(path.join(dir, "dashboard.yml"), "utf8")).toBe(DASHBOARD);
  // A file always ends with a newline.
  expect(fs.readFileSync(path.join(dir, "no-newline.yml"), "utf8")).toBe("a: 1\n");
  expect(modeOf(path.join(dir, "middlewares.yml"))).toBe("644");
  expect(modeOf(path.join(dir, "dashboard.yml"))).toBe("600");
  expect(modeOf(path.join(dir, "no-newline.yml"))).toBe("640");
});

test("an existing file is replaced by a rename: a reader holding the old file never sees a partial one, no temp file remains", () => {
  const dir = path.join(root, "dynamic");
  fs.mkdirSync(dir);
  const target = path.join(dir, "middlewares.yml");
  fs.writeFileSync(target, "old: content\n", { mode: 0o644 });
  // A second name of the old file, as a watcher's open descriptor: truncating in place would empty it too.
  fs.linkSync(target, path.join(root, "old-view"));
  const before = fs.statSync(target).ino;
  const result = run(writeFilesScript(dir, [{ name: "middlewares.yml", content: MIDDLEWARES, mode: "644" }]), root);
  expect(result.status).toBe(0);
  expect(fs.statSync(target).ino).not.toBe(before);
  expect(fs.readFileSync(target, "utf8")).toBe(MIDDLEWARES);
  expect(fs.readFileSync(path.join(root, "old-view"), "utf8")).toBe("old: content\n");
  expect(fs.readdirSync(dir)).toEqual(["middlewares.yml"]);
  // Running it again with the same files gives the same folder.
  expect(
    run(writeFilesScript(dir, [{ name: "middlewares.yml", content: MIDDLEWARES, mode: "644" }]), root).status,
  ).toBe(0);
  expect(fs.readdirSync(dir)).toEqual(["middlewares.yml"]);
  expect(fs.readFileSync(target, "utf8")).toBe(MIDDLEWARES);
});

test("a folder path with spaces, quotes, $() and backticks is data: the files land there and no command runs", () => {
  const dir = path.join(root, `it's a "dir" $(touch pwned) \`touch pwned2\` ;touch pwned3`);
  const result = run(writeFilesScript(dir, [{ name: "tls.yml", content: "tls: {}\n", mode: "644" }]), root);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(fs.readFileSync(path.join(dir, "tls.yml"), "utf8")).toBe("tls: {}\n");
  expect(fs.readdirSync(root)).toEqual([path.basename(dir)]);
});

test("a content line equal to the here-document's end marker is refused (it would cut the file short)", () => {
  expect(() =>
    writeFilesScript("/x", [{ name: "a.yml", content: "a: 1\nEMS_INFRA_EOF\nb: 2\n", mode: "644" }]),
  ).toThrow("writeFilesScript: a.yml contains the line EMS_INFRA_EOF");
  expect(() => writeFilesScript("/x", [{ name: "a.yml", content: "EMS_INFRA_EOF", mode: "644" }])).toThrow(
    "contains the line EMS_INFRA_EOF",
  );
  // The marker inside a longer line is only text.
  const dir = path.join(root, "d");
  expect(run(writeFilesScript(dir, [{ name: "a.yml", content: "x: EMS_INFRA_EOF\n", mode: "644" }]), root).status).toBe(
    0,
  );
  expect(fs.readFileSync(path.join(dir, "a.yml"), "utf8")).toBe("x: EMS_INFRA_EOF\n");
});

test.each(["../escape.yml", "sub/dir.yml", "", "a b.yml", "$(id).yml", "a\nb"])(
  "the file name %j is refused",
  (name) => {
    expect(() => writeFilesScript("/x", [{ name, content: "a: 1\n", mode: "644" }])).toThrow(
      `writeFilesScript: bad file name ${JSON.stringify(name)}`,
    );
  },
);

test.each(["888", "rw-", "64", "06444", "644; rm -rf /", ""])("the mode %j is refused", (mode) => {
  expect(() => writeFilesScript("/x", [{ name: "a.yml", content: "a: 1\n", mode }])).toThrow(
    `writeFilesScript: bad mode ${mode} for a.yml`,
  );
});

test("the generated script passes shellcheck", () => {
  const script = writeFilesScript("/root/infra/traefik/dynamic", [
    { name: "tls.yml", content: "tls: {}\n", mode: "644" },
    { name: "dashboard.yml", content: DASHBOARD, mode: "600" },
  ]);
  const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], {
    input: script,
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(result.error).toBeUndefined();
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
});

/**
 * host-layout.sh run by a real shell, exactly as the HostLayout component has it run (its registered `create`
 * command through `/bin/sh -c`, the script on stdin), on the prod stack's folders rebased into a temp folder.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostLayout } from "../../components/hostLayout";
import { parseStackConfig } from "../../stacks/config";
import { hostFolders } from "../../stacks/system";
import { committedConfig, runComponents, T, TEST_SECRETS } from "../support";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-layout-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** The prod stack's folders (the seed's Passo 1), under `base` instead of `/`. */
function prodFolders(base: string) {
  const cfg = parseStackConfig(
    "prod",
    { ...committedConfig("prod"), ...TEST_SECRETS },
    new Set(Object.keys(TEST_SECRETS)),
  );
  return hostFolders(cfg).map((f) => ({ ...f, path: path.join(base, f.path) }));
}

/** The command and stdin the component registers for these folders. */
async function registered(folders: { path: string; mode?: string }[]) {
  const run = await runComponents(() => new HostLayout("host-layout", { folders }));
  const cmd = run.get(T.localCommand, "host-layout-data-folders");
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  return { create: cmd.inputs.create as string, stdin: cmd.inputs.stdin as string };
}

/** Runs it the way the command provider does: interpreter + create, stdin fed. */
function runOnHost(cmd: { create: string; stdin: string }): string {
  return execFileSync("/bin/sh", ["-c", cmd.create], {
    input: cmd.stdin,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
}

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

test("creates every folder of Passo 1, .secrets and letsencrypt with mode 700", async () => {
  const folders = prodFolders(root);
  const out = runOnHost(await registered(folders));
  const rel = (p: string) => path.join(root, p);
  for (const f of [
    "/root/infra/letsencrypt",
    "/root/ems_system/.secrets",
    "/root/ems_system/data/uploads/ems",
    "/root/ems_system/data/uploads/sms",
    "/root/ems_system/data/logs/ems",
    "/root/ems_system/data/logs/sms",
    "/root/ems_system/data/backups",
  ]) {
    expect(fs.statSync(rel(f)).isDirectory()).toBe(true);
  }
  expect(mode(rel("/root/ems_system/.secrets"))).toBe("700");
  expect(mode(rel("/root/infra/letsencrypt"))).toBe("700");
  const umaskDefault = (0o777 & ~process.umask()).toString(8);
  expect(mode(rel("/root/ems_system/data/uploads/ems"))).toBe(umaskDefault);
  expect(out).toContain(`layout: created ${rel("/root/ems_system/.secrets")} (mode 700)`);
});

test("running twice is idempotent: existing folders and their files are kept, modes re-applied", async () => {
  const folders = prodFolders(root);
  const cmd = await registered(folders);
  runOnHost(cmd);
  const upload = path.join(root, "root/ems_system/data/uploads/ems/photo.jpg");
  const acme = path.join(root, "root/infra/letsencrypt/acme.json");
  fs.writeFileSync(upload, "jpeg bytes");
  fs.writeFileSync(acme, "{}", { mode: 0o600 });
  fs.chmodSync(path.join(root, "root/ems_system/.secrets"), 0o755); // someone loosened it

  const out = runOnHost(cmd);
  expect(fs.readFileSync(upload, "utf8")).toBe("jpeg bytes");
  expect(fs.readFileSync(acme, "utf8")).toBe("{}");
  expect(mode(acme)).toBe("600");
  expect(mode(path.join(root, "root/ems_system/.secrets"))).toBe("700");
  expect(out).not.toContain("layout: created");
  expect(out.trim().split("\n")).toHaveLength(folders.length);
  for (const line of out.trim().split("\n")) expect(line).toMatch(/^layout: exists /);
});

test("a path with a space and a quote works", async () => {
  const odd = path.join(root, "it's a dir", "uploads ems");
  const cmd = await registered([{ path: odd }, { path: path.join(root, "it's a dir", 'sec"ret'), mode: "700" }]);
  runOnHost(cmd);
  expect(fs.statSync(odd).isDirectory()).toBe(true);
  expect(mode(path.join(root, "it's a dir", 'sec"ret'))).toBe("700");
  expect(fs.readdirSync(path.join(root, "it's a dir")).sort()).toEqual(['sec"ret', "uploads ems"]);
});

test("a path that exists as a file fails the command (it is not silently skipped)", async () => {
  fs.writeFileSync(path.join(root, "taken"), "");
  const cmd = await registered([{ path: path.join(root, "taken") }]);
  expect(() => execFileSync("/bin/sh", ["-c", cmd.create], { input: cmd.stdin, stdio: "pipe" })).toThrow();
});

/** The HostLayout component alone: the `sh -s -- MODE:PATH...` command, where it runs, its protection. */
import * as fs from "fs";
import * as path from "path";
import { sshCommand } from "../../components/hostCommand";
import { HostFolder, HostLayout } from "../../components/hostLayout";
import { readScript } from "../../components/shell";
import { runComponents, runRecordedCommand, stubSsh, T, tempDir, unwrap } from "../support";
import { shellWords } from "../stacks/helpers";

const FOLDERS: HostFolder[] = [
  { path: "/root/infra/letsencrypt", mode: "700" },
  { path: "/root/ems_system/.secrets", mode: "700" },
  { path: "/root/ems_system/data/uploads/ems" },
  { path: "/srv/my uploads/it's here" },
];
const CREATE =
  "sh -s -- 700:/root/infra/letsencrypt 700:/root/ems_system/.secrets :/root/ems_system/data/uploads/ems ':/srv/my uploads/it'\"'\"'s here'";

test("without a connection: a local `sh -s -- MODE:PATH...` command with host-layout.sh on stdin", async () => {
  const run = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS }));
  const cmd = run.get(T.localCommand, "host-layout-data-folders");
  expect(cmd.inputs.create).toBe(CREATE);
  expect(cmd.inputs.update).toBe(CREATE);
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  expect(cmd.inputs.stdin).toBe(readScript("host-layout.sh"));
  expect(shellWords(CREATE).slice(3)).toEqual([
    "700:/root/infra/letsencrypt",
    "700:/root/ems_system/.secrets",
    ":/root/ems_system/data/uploads/ems",
    ":/srv/my uploads/it's here",
  ]);
  // A new folder re-runs the script as an update: no triggers, which would replace this (protected in prod) resource.
  expect(cmd.inputs.update).toBe(CREATE);
  expect(cmd.inputs.triggers).toBeUndefined();
  expect(run.ofType(T.remoteCommand)).toEqual([]);
  expect(await unwrap(run.result.folders)).toEqual(FOLDERS.map((f) => f.path));
});

test("with a connection: the same local command, running host-layout.sh on the host through ssh (run with a stub ssh)", async () => {
  const connection = {
    host: "vps.edumigsoft.com.br",
    user: "root",
    port: 2222,
    knownHostsFile: "/root/.ssh/known_hosts",
  };
  const run = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS, connection }));
  expect(run.ofType(T.remoteCommand)).toEqual([]);
  const cmd = run.get(T.localCommand, "host-layout-data-folders");
  expect(cmd.inputs.create).toBe(sshCommand(connection, CREATE));
  expect(shellWords(cmd.inputs.create).slice(-3)).toEqual(["--", "root@vps.edumigsoft.com.br", CREATE]);
  expect(cmd.inputs.stdin).toBe(readScript("host-layout.sh"));

  // The same, for folders under a temporary root, run for real: the stub ssh runs the remote command here.
  const dir = tempDir("host-layout-ssh");
  try {
    const folders: HostFolder[] = [
      { path: `${dir}/infra/letsencrypt`, mode: "700" },
      { path: `${dir}/my uploads/it's $(here)` },
    ];
    const tmpRun = await runComponents(() => new HostLayout("host-layout", { folders, connection }));
    const ssh = stubSsh(path.join(dir, "stub"));
    const result = runRecordedCommand(tmpRun.get(T.localCommand, "host-layout-data-folders"), {
      pathPrefix: ssh.binDir,
      cwd: dir,
    });
    expect(result.status).toBe(0);
    expect(ssh.calls()).toHaveLength(1);
    expect(ssh.stdins()).toEqual([readScript("host-layout.sh")]);
    expect((fs.statSync(folders[0].path).mode & 0o777).toString(8)).toBe("700");
    expect(fs.statSync(folders[1].path).isDirectory()).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("protectData protects the folders' command and retains it on delete (destroy never runs a delete on the host)", async () => {
  const on = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS, protectData: true }));
  expect(on.get(T.localCommand, "host-layout-data-folders").opts).toMatchObject({
    protect: true,
    retainOnDelete: true,
  });
  const off = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS }));
  expect(off.get(T.localCommand, "host-layout-data-folders").opts.protect).toBeFalsy();
  expect(off.get(T.localCommand, "host-layout-data-folders").inputs.delete).toBeUndefined();
});

/** The HostLayout component alone: the `sh -s -- MODE:PATH...` command, where it runs, its protection. */
import * as pulumi from "@pulumi/pulumi";
import { HostFolder, HostLayout } from "../../components/hostLayout";
import { readScript } from "../../components/shell";
import { runComponents } from "../support/componentHarness";
import { T, isSecretInput, unwrap } from "../support/stackHarness";
import { shellWords, unsecret } from "../stacks/helpers";

const FOLDERS: HostFolder[] = [
  { path: "/root/infra/letsencrypt", mode: "700" },
  { path: "/root/ems_system/.secrets", mode: "700" },
  { path: "/root/ems_system/data/uploads/ems" },
  { path: "/srv/my uploads/it's here" },
];
const CREATE = "sh -s -- 700:/root/infra/letsencrypt 700:/root/ems_system/.secrets :/root/ems_system/data/uploads/ems ':/srv/my uploads/it'\"'\"'s here'";

test("without a connection: a local `sh -s -- MODE:PATH...` command with host-layout.sh on stdin", async () => {
  const run = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS }));
  const cmd = run.get(T.localCommand, "host-layout-data-folders");
  expect(cmd.inputs.create).toBe(CREATE);
  expect(cmd.inputs.update).toBe(CREATE);
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  expect(cmd.inputs.stdin).toBe(readScript("host-layout.sh"));
  expect(shellWords(CREATE).slice(3)).toEqual(["700:/root/infra/letsencrypt", "700:/root/ems_system/.secrets", ":/root/ems_system/data/uploads/ems", ":/srv/my uploads/it's here"]);
  // A new folder re-runs the script as an update: no triggers, which would replace this (protected in prod) resource.
  expect(cmd.inputs.update).toBe(CREATE);
  expect(cmd.inputs.triggers).toBeUndefined();
  expect(run.ofType(T.remoteCommand)).toEqual([]);
  expect(await unwrap(run.result.folders)).toEqual(FOLDERS.map((f) => f.path));
});

test("with a connection: the same command over SSH (remote.Command), the private key a secret", async () => {
  const run = await runComponents(
    () => new HostLayout("host-layout", { folders: FOLDERS, connection: { host: "vps.example", user: "root", port: 2222, privateKey: pulumi.secret("-----BEGIN KEY-----") } }),
  );
  expect(run.ofType(T.localCommand)).toEqual([]);
  const cmd = run.get(T.remoteCommand, "host-layout-data-folders");
  expect(cmd.inputs.create).toBe(CREATE);
  expect(cmd.inputs.stdin).toBe(readScript("host-layout.sh"));
  expect(unsecret(cmd.inputs.connection)).toMatchObject({ host: "vps.example", user: "root", port: 2222, privateKey: "-----BEGIN KEY-----" });
  expect(await isSecretInput(cmd.props.connection)).toBe(true);
});

test("protectData protects the folders' command and retains it on delete (destroy never runs a delete on the host)", async () => {
  const on = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS, protectData: true }));
  expect(on.get(T.localCommand, "host-layout-data-folders").opts).toMatchObject({ protect: true, retainOnDelete: true });
  const off = await runComponents(() => new HostLayout("host-layout", { folders: FOLDERS }));
  expect(off.get(T.localCommand, "host-layout-data-folders").opts.protect).toBeFalsy();
  expect(off.get(T.localCommand, "host-layout-data-folders").inputs.delete).toBeUndefined();
});

/**
 * The API log slot folders on a swarm node, for real: the uploads node's folders as the program lists them
 * (stacks/swarm.ts swarmNodeFolders: each API's log folder and one folder per task slot, 1..replicas), rebased into a
 * temp folder, made by HostLayout's registered command through `/bin/sh -c`, then read by `npm run drift`'s host check
 * (host-check.sh, ops/swarmDrift.ts runs it on each node with the same list).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostLayout } from "../../components/hostLayout";
import { hostCheckCommand } from "../../ops/hostCommands/hostCheck";
import { parseHostCheck } from "../../ops/hostDrift";
import { parseStackConfig } from "../../stacks/config";
import { swarmNodeFolders } from "../../stacks/swarm";
import { runComponents, swarmProdConfig, T, TEST_SECRETS } from "../support";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-log-slots-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** The uploads node's (192.0.2.11, ems.postgres=true) folders, under `root` instead of `/`. */
function uploadsNodeFolders() {
  const cfg = parseStackConfig("prod", swarmProdConfig(), new Set(Object.keys(TEST_SECRETS)), "/home/dev", "/work");
  const node = cfg.swarm!.nodes.find((n) => n.address === "192.0.2.11")!;
  return swarmNodeFolders(cfg as Parameters<typeof swarmNodeFolders>[0], node).map((f) => ({
    ...f,
    path: path.join(root, f.path),
  }));
}

const hostCheck = (folders: { path: string; mode?: string }[]) => {
  const r = spawnSync("/bin/sh", ["-c", hostCheckCommand({ folders })], { encoding: "utf8" });
  return parseHostCheck({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr });
};

test("HostLayout makes every replica's log folder; drift finds them, and names a slot folder that is gone", async () => {
  const folders = uploadsNodeFolders();
  const run = await runComponents(() => new HostLayout("host-layout", { folders }));
  const cmd = run.get(T.localCommand, "host-layout-data-folders");
  execFileSync("/bin/sh", ["-c", cmd.inputs.create as string], { input: cmd.inputs.stdin as string });

  for (const slot of ["ems/1", "ems/2", "sms/1", "sms/2"])
    expect(fs.statSync(path.join(root, "/root/ems_system/data/logs", slot)).isDirectory()).toBe(true);
  expect(hostCheck(folders)).toEqual({ ok: true, incomplete: false, differences: [] });

  const gone = path.join(root, "/root/ems_system/data/logs/sms/2");
  fs.rmdirSync(gone);
  const drift = hostCheck(folders);
  expect(drift.ok).toBe(false);
  expect(drift.differences.map((d) => d.line)).toEqual([`folder ${gone}: missing`]);
});

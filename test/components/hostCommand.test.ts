/**
 * hostCommand / sshCommand / sshOptions alone: the command line registered, RUN for real through /bin/sh with a
 * stub `ssh` on PATH (it records its argv and stdin, then runs the remote command with `sh -c`).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { HostConnection, hostCommand, sshCommand, sshOptions } from "../../components/hostCommand";
import { runComponents, runRecordedCommand, STUB_SSH_SCRIPT, stubSsh, T, tempDir } from "../support";

const VPS: HostConnection = {
  host: "vps.edumigsoft.com.br",
  user: "root",
  port: 2222,
  identityFile: "/home/dev/.ssh/id ed25519",
  knownHostsFile: "/home/dev/.ssh/known hosts",
};
// Quotes, a `$()`, a backtick and a newline: it must reach the remote shell as the very same text.
const REMOTE = `printf '%s|' "it's" "$(echo sub)" \`echo tick\`; cat; printf '\\nremote-done\\n'`;

async function registered(
  connection: HostConnection | undefined,
  create = REMOTE,
  stdin = "stdin line 1\nstdin line 2\n",
) {
  const run = await runComponents(() => hostCommand("probe", { create, stdin }, connection, { aliases: [] }));
  return run;
}

describe("sshOptions", () => {
  test("host key verified from the given known_hosts, never accepted blindly; the key file used alone", () => {
    expect(sshOptions(VPS)).toEqual([
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=/home/dev/.ssh/known hosts",
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      "/home/dev/.ssh/id ed25519",
      "-p",
      "2222",
    ]);
  });

  test("without an identity file the agent is used: no -i", () => {
    const opts = sshOptions({ ...VPS, identityFile: undefined });
    expect(opts).not.toContain("-i");
    expect(opts).not.toContain("IdentitiesOnly=yes");
    expect(opts.slice(-2)).toEqual(["-p", "2222"]);
  });
});

describe("with a connection: ssh runs the command on the host", () => {
  let dir: string;
  let ssh: ReturnType<typeof stubSsh>;
  beforeEach(() => {
    dir = tempDir("host-command");
    ssh = stubSsh(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("registered as a local Command through /bin/sh, create = update = the ssh command line", async () => {
    const run = await registered(VPS);
    expect(run.ofType(T.remoteCommand)).toEqual([]);
    const cmd = run.get(T.localCommand, "probe");
    expect(cmd.inputs.create).toBe(sshCommand(VPS, REMOTE));
    expect(cmd.inputs.update).toBe(cmd.inputs.create);
    expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
    // A stack made when host commands were remote Commands keeps its resources (an update, not a replacement).
    expect(cmd.opts.aliases).toEqual([{ type: "command:remote:Command" }]);
  });

  test("run for real: ssh gets the verified options, `--`, user@host and the remote command as ONE argument; stdin passes through", async () => {
    const cmd = (await registered(VPS)).get(T.localCommand, "probe");
    const result = runRecordedCommand(cmd, { pathPrefix: ssh.binDir, cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("it's|sub|tick|stdin line 1\nstdin line 2\n\nremote-done\n");
    expect(ssh.calls()).toEqual([[...sshOptions(VPS), "--", "root@vps.edumigsoft.com.br", REMOTE]]);
    expect(ssh.stdins()).toEqual(["stdin line 1\nstdin line 2\n"]);
    const argv = ssh.calls()[0];
    expect(argv[argv.indexOf("StrictHostKeyChecking=yes") - 1]).toBe("-o");
    expect(argv[argv.indexOf("-i") + 1]).toBe("/home/dev/.ssh/id ed25519");
    expect(argv).toContain("UserKnownHostsFile=/home/dev/.ssh/known hosts");
    // Nothing ran on this machine: the stub's folder holds only its own records.
    expect(fs.readdirSync(dir).sort()).toEqual(["argv.1", "bin", "count", "stdin.1"]);
  });

  test("an IPv6 host is passed bare after user@ (ssh splits at the last @; the port is -p)", async () => {
    const v6 = { ...VPS, host: "2001:db8::10", identityFile: undefined };
    const cmd = (await registered(v6, "echo on-v6")).get(T.localCommand, "probe");
    const result = runRecordedCommand(cmd, { pathPrefix: ssh.binDir, cwd: dir });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("on-v6\n");
    expect(ssh.calls()[0].slice(-3)).toEqual(["--", "root@2001:db8::10", "echo on-v6"]);
  });

  test("a failing remote command fails the local one (its exit status is ssh's)", async () => {
    const cmd = (await registered(VPS, "echo boom >&2; exit 7")).get(T.localCommand, "probe");
    const result = runRecordedCommand(cmd, { pathPrefix: ssh.binDir, cwd: dir });
    expect(result.status).toBe(7);
    expect(result.stderr).toBe("boom\n");
  });
});

describe("without a connection: the command runs on this machine", () => {
  test("the create string is the command itself, run by /bin/sh with the stdin, ssh never called", async () => {
    const dir = tempDir("host-command-local");
    try {
      const ssh = stubSsh(dir);
      const cmd = (await registered(undefined)).get(T.localCommand, "probe");
      expect(cmd.inputs.create).toBe(REMOTE);
      expect(cmd.inputs.update).toBe(REMOTE);
      const result = runRecordedCommand(cmd, { pathPrefix: ssh.binDir, cwd: dir });
      expect(result.status).toBe(0);
      expect(result.stdout).toBe("it's|sub|tick|stdin line 1\nstdin line 2\n\nremote-done\n");
      expect(ssh.calls()).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("the stub ssh these tests run passes shellcheck", () => {
  const result = spawnSync("shellcheck", ["--shell=sh", "-"], {
    input: STUB_SSH_SCRIPT,
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(result.error).toBeUndefined();
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
});

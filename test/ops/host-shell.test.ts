/**
 * The one host shell: a remote host is reached with the program's own ssh options (components/hostCommand.ts),
 * from the stack's `ems-infra:ssh` as the program resolves it. A stand-in `ssh` on PATH records its argv and runs
 * the remote command with sh, so the words really go through spawn as they would to ssh.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sshOptions } from "../../components/hostCommand";
import { boundShell, describeHost, HostTarget, hostInvocation } from "../../ops/runner/hostShell";
import { hostTargetOf } from "../../ops/runner/stackConfig";
import { FakeStack } from "../support";

const VPS: HostTarget = {
  host: "vps.edumigsoft.com.br",
  user: "root",
  port: 2222,
  identityFile: "/home/ana/.ssh/ems_deploy",
  knownHostsFile: "/home/ana/.ssh/known_hosts",
};

describe("how a command reaches the host", () => {
  test("here through sh -c", () => {
    expect(hostInvocation("local", "echo hi")).toEqual({ file: "sh", args: ["-c", "echo hi"] });
  });

  test("the VPS through ssh with the program's options: batch mode, verified host key, the stack's key, -- before user@host", () => {
    expect(hostInvocation(VPS, "docker ps")).toEqual({
      file: "ssh",
      args: [
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/home/ana/.ssh/known_hosts",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        "/home/ana/.ssh/ems_deploy",
        "-p",
        "2222",
        "--",
        "root@vps.edumigsoft.com.br",
        "docker ps",
      ],
    });
    // The very options the host commands and the Docker provider use.
    expect(hostInvocation(VPS, "x").args.slice(0, sshOptions(VPS).length)).toEqual(sshOptions(VPS));
  });

  test("a terminal only when asked (docker exec -it over ssh)", () => {
    expect(hostInvocation(VPS, "docker exec -it x psql", { tty: true }).args[0]).toBe("-t");
    expect(hostInvocation(VPS, "docker ps").args).not.toContain("-t");
  });

  test("an IPv6 host: bare in ssh's argument, in brackets in messages", () => {
    const v6: HostTarget = {
      host: "2804:14c:65a1::10",
      user: "root",
      port: 22,
      knownHostsFile: "/root/.ssh/known_hosts",
    };
    expect(hostInvocation(v6, "true").args.slice(-2)).toEqual(["root@2804:14c:65a1::10", "true"]);
    expect(describeHost(v6)).toBe("root@[2804:14c:65a1::10]:22");
    expect(describeHost(VPS)).toBe("root@vps.edumigsoft.com.br:2222");
    expect(describeHost("local")).toBe("local");
  });
});

describe("the stack's ems-infra:ssh, as the program reads it", () => {
  const stack = (ssh?: unknown) =>
    new FakeStack("prod", { config: ssh === undefined ? {} : { "ems-infra:ssh": JSON.stringify(ssh) } });

  test("no ssh: this machine", async () => {
    expect(await hostTargetOf(stack())).toBe("local");
  });

  test("the schema's defaults (root, 22, ~/.ssh/known_hosts), ~ and relative paths resolved like the program", async () => {
    expect(await hostTargetOf(stack({ host: "vps.edumigsoft.com.br" }), "/home/ana", "/work/ems-infra")).toEqual({
      host: "vps.edumigsoft.com.br",
      user: "root",
      port: 22,
      knownHostsFile: "/home/ana/.ssh/known_hosts",
    });
    expect(
      await hostTargetOf(
        stack({
          host: "2804:14c:65a1::10",
          user: "deploy",
          port: 2222,
          identityFile: "keys/ems",
          knownHostsFile: "~/kh",
        }),
        "/home/ana",
        "/work/ems-infra",
      ),
    ).toEqual({
      host: "2804:14c:65a1::10",
      user: "deploy",
      port: 2222,
      identityFile: "/work/ems-infra/keys/ems",
      knownHostsFile: "/home/ana/kh",
    });
  });

  test("a bad value is refused naming the key", async () => {
    await expect(hostTargetOf(stack({ host: "vps", port: "ssh" }))).rejects.toThrow(/^ems-infra:ssh\.port: /);
    await expect(hostTargetOf(stack({ host: "vps", identity: "~/.ssh/id" }))).rejects.toThrow(/^ems-infra:ssh/);
  });
});

describe("running through the stand-in ssh", () => {
  let bin: string;
  let argvLog: string;

  beforeAll(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "ems-ssh-"));
    argvLog = path.join(bin, "argv");
    // Records each argument on its own line, then runs the last one (the remote command) like sshd would.
    fs.writeFileSync(
      path.join(bin, "ssh"),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >${JSON.stringify(argvLog)}\nfor last in "$@"; do :; done\nexec sh -c "$last"\n`,
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

  /** Runs the module in a child process whose PATH finds the stand-in first (jest's process.env does not reach spawn). */
  function viaStandIn(code: string): unknown {
    const script = `const h = require(${JSON.stringify(path.join(__dirname, "../../ops/runner/hostShell"))}); const VPS = ${JSON.stringify(VPS)};
(async () => process.stdout.write(JSON.stringify(await (${code}))))();`;
    const r = spawnSync(path.join(__dirname, "../../node_modules/.bin/tsx"), ["-e", script], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  }

  test("captured: stdin reaches the remote command, and ssh got every option as its own word", () => {
    expect(
      viaStandIn(`h.captureOnHost(VPS, "read -r key; printf 'got %s' \\"$key\\"", { input: "s3cr3t key\\n" })`),
    ).toEqual({ code: 0, stdout: "got s3cr3t key", stderr: "" });
    expect(fs.readFileSync(argvLog, "utf8").split("\n").slice(0, -2)).toEqual(
      hostInvocation(VPS, "").args.slice(0, -1),
    );
  });

  test("streamed: the exit code comes back", () => {
    expect(viaStandIn(`h.runOnHost(VPS, "exit 3")`)).toBe(3);
  });

  test("a bound shell is bounded in time: killed, code 124, says so", async () => {
    const r = await boundShell("local").run("sleep 5", { timeoutMs: 200 });
    expect(r.code).toBe(124);
    expect(r.stderr).toBe("timed out\n");
    expect(boundShell(VPS).where).toBe("root@vps.edumigsoft.com.br:2222");
  });
});

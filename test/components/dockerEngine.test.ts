/** The DockerEngine component alone, and how the stacks pick the SSH connection (stacks/system.ts). */
import * as path from "path";
import { DockerEngine, sshDockerHost } from "../../components/dockerEngine";
import { HostConnection, sshOptions } from "../../components/hostCommand";
import { parseStackConfig } from "../../stacks/config";
import { hostConnection } from "../../stacks/system";
import { committedConfig, isSecretInput, runComponents, T, TEST_SECRETS, unwrap } from "../support";
import { HOME, withValue } from "../stacks/helpers";

const TOKEN = "ghp_componentTEST0123456789";
const VPS: HostConnection = {
  host: "vps.edumigsoft.com.br",
  user: "root",
  port: 2222,
  identityFile: "/home/dev/.ssh/id_ed25519",
  knownHostsFile: "/home/dev/.ssh/known_hosts",
};

test("registry credentials become the provider's registryAuth, the password a secret", async () => {
  const run = await runComponents(
    () =>
      new DockerEngine("docker", {
        host: "tcp://10.0.0.2:2376",
        registry: { server: "ghcr.io", username: "edumigsoft", password: TOKEN },
      }),
  );
  const provider = run.get(T.dockerProvider, "docker-provider");
  expect(provider.inputs.host).toBe("tcp://10.0.0.2:2376");
  expect(await isSecretInput(provider.props.registryAuth)).toBe(true);
  const auth = await unwrap(provider.props.registryAuth);
  expect(typeof auth === "string" ? JSON.parse(auth) : auth).toEqual([
    { address: "ghcr.io", username: "edumigsoft", password: TOKEN },
  ]);
  expect(await unwrap(run.result.provider.urn)).toMatch(
    /::ems:infra:DockerEngine\$pulumi:providers:docker::docker-provider$/,
  );
});

test("without registry credentials, host or ssh: the local socket, anonymous pulls", async () => {
  const run = await runComponents(() => new DockerEngine("docker", {}));
  const provider = run.get(T.dockerProvider, "docker-provider");
  expect(provider.inputs.host).toBeUndefined();
  expect(provider.inputs.sshOpts).toBeUndefined();
  expect(provider.inputs.registryAuth).toBeUndefined();
  expect(await unwrap(run.result.endpoint)).toBe("");
});

test("over SSH: ssh://user@host:port, with the same key and verified known_hosts as the host commands (the port in the URL)", async () => {
  const run = await runComponents(() => new DockerEngine("docker", { ssh: VPS }));
  const provider = run.get(T.dockerProvider, "docker-provider");
  expect(provider.inputs.host).toBe("ssh://root@vps.edumigsoft.com.br:2222");
  // A provider's non-string inputs reach the engine as JSON text.
  const sshOpts = JSON.parse(provider.inputs.sshOpts);
  expect(sshOpts).toEqual([
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UserKnownHostsFile=/home/dev/.ssh/known_hosts",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    "/home/dev/.ssh/id_ed25519",
  ]);
  expect(sshOptions(VPS).slice(0, -2)).toEqual(sshOpts);
  expect(await unwrap(run.result.endpoint)).toBe("ssh://root@vps.edumigsoft.com.br:2222");
});

test("an IPv6 host is bracketed in the URL", () => {
  expect(sshDockerHost({ ...VPS, host: "2001:db8::10", port: 22 })).toBe("ssh://root@[2001:db8::10]:22");
});

test("an explicit Docker host wins over ssh, and gets no ssh options", async () => {
  const run = await runComponents(() => new DockerEngine("docker", { host: "tcp://10.0.0.2:2376", ssh: VPS }));
  const provider = run.get(T.dockerProvider, "docker-provider");
  expect(provider.inputs.host).toBe("tcp://10.0.0.2:2376");
  expect(provider.inputs.sshOpts).toBeUndefined();
});

describe("hostConnection (stacks/system.ts)", () => {
  const prod = (extra: (c: Record<string, string>) => Record<string, string> = (c) => c) =>
    parseStackConfig(
      "prod",
      extra({ ...committedConfig("prod"), ...TEST_SECRETS }),
      new Set(Object.keys(TEST_SECRETS)),
    );

  test("the committed prod stack (no ssh) runs on the VPS itself", () => {
    expect(hostConnection(prod())).toBeUndefined();
  });

  test("ssh: { host } gives root on port 22, verified against ~/.ssh/known_hosts", () => {
    expect(hostConnection(prod((c) => withValue(c, "ssh", [], { host: "vps.edumigsoft.com.br" })))).toEqual({
      host: "vps.edumigsoft.com.br",
      user: "root",
      port: 22,
      identityFile: undefined,
      knownHostsFile: path.join(HOME, ".ssh", "known_hosts"),
    });
  });

  test("the ssh user, port, key and known_hosts are used", () => {
    const ssh = {
      host: "2001:db8::10",
      user: "deploy",
      port: 2222,
      identityFile: "~/.ssh/ems_vps",
      knownHostsFile: "/etc/ssh/ems_known_hosts",
    };
    expect(hostConnection(prod((c) => withValue(c, "ssh", [], ssh)))).toEqual({
      ...ssh,
      identityFile: path.join(HOME, ".ssh", "ems_vps"),
    });
  });
});

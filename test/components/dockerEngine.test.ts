/** The DockerEngine component alone, and how the stacks pick the Docker endpoint (stacks/system.ts). */
import * as pulumi from "@pulumi/pulumi";
import { DockerEngine } from "../../components/dockerEngine";
import { parseStackConfig } from "../../stacks/config";
import { dockerHost, hostConnection } from "../../stacks/system";
import { runComponents } from "../support/componentHarness";
import { T, TEST_SECRETS, committedConfig, isSecretInput, unwrap } from "../support/stackHarness";
import { withValue } from "../stacks/helpers";

const TOKEN = "ghp_componentTEST0123456789";

test("registry credentials become the provider's registryAuth, the password a secret", async () => {
  const run = await runComponents(
    () => new DockerEngine("docker", { host: "ssh://root@vps.example:22", registry: { server: "ghcr.io", username: "edumigsoft", password: TOKEN } }),
  );
  const provider = run.get(T.dockerProvider, "docker-provider");
  expect(provider.inputs.host).toBe("ssh://root@vps.example:22");
  expect(await isSecretInput(provider.props.registryAuth)).toBe(true);
  const auth = await unwrap(provider.props.registryAuth);
  expect(typeof auth === "string" ? JSON.parse(auth) : auth).toEqual([{ address: "ghcr.io", username: "edumigsoft", password: TOKEN }]);
  expect(await unwrap(run.result.provider.urn)).toMatch(/::ems:infra:DockerEngine\$pulumi:providers:docker::docker-provider$/);
});

test("without registry credentials and host: the local socket, anonymous pulls", async () => {
  const run = await runComponents(() => new DockerEngine("docker", {}));
  const provider = run.get(T.dockerProvider, "docker-provider");
  expect(provider.inputs.host).toBeUndefined();
  expect(provider.inputs.registryAuth).toBeUndefined();
});

describe("dockerHost / hostConnection (stacks/system.ts)", () => {
  const prod = (extra: (c: Record<string, string>) => Record<string, string> = (c) => c) =>
    parseStackConfig("prod", extra({ ...committedConfig("prod"), ...TEST_SECRETS }), new Set([...Object.keys(TEST_SECRETS), "ems-infra:sshPrivateKey"]));

  test("the committed prod stack (no ssh) uses the local Docker socket", () => {
    expect(dockerHost(prod())).toBeUndefined();
    expect(hostConnection(prod())).toBeUndefined();
  });

  test("ssh: { host: vps } gives ssh://root@vps:22", () => {
    expect(dockerHost(prod((c) => withValue(c, "ssh", [], { host: "vps" })))).toBe("ssh://root@vps:22");
  });

  test("the ssh user and port are used", () => {
    expect(dockerHost(prod((c) => withValue(c, "ssh", [], { host: "vps", user: "deploy", port: 2222 })))).toBe("ssh://deploy@vps:2222");
  });

  test("an explicit docker.host wins over ssh", () => {
    const cfg = prod((c) => withValue(withValue(c, "ssh", [], { host: "vps" }), "docker", [], { host: "tcp://10.0.0.2:2376" }));
    expect(dockerHost(cfg)).toBe("tcp://10.0.0.2:2376");
  });

  test("the SSH connection carries the private key as a secret", async () => {
    const cfg = prod((c) => ({ ...withValue(c, "ssh", [], { host: "vps" }), "ems-infra:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----x" }));
    const connection = hostConnection(cfg)!;
    expect({ ...connection, privateKey: undefined }).toEqual({ host: "vps", user: "root", port: 22, privateKey: undefined });
    expect(await isSecretInput(connection.privateKey)).toBe(true);
    expect(await unwrap(connection.privateKey as pulumi.Output<string>)).toBe("-----BEGIN OPENSSH PRIVATE KEY-----x");
  });
});

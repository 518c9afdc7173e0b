import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { describeConnection, HostConnection, sshOptions } from "./hostCommand";

export interface RegistryLogin {
  /** Registry host, e.g. ghcr.io. */
  server: string;
  /** Account the token belongs to. */
  username: string;
  /** Read-only token, a Pulumi secret. */
  password: pulumi.Input<string>;
}

export interface DockerEngineArgs {
  /** Docker endpoint, e.g. tcp://… or unix://…; absent uses the SSH host's engine, or the local socket. */
  host?: string;
  /** The SSH connection to the engine's host (the same key and known_hosts as the host commands). */
  ssh?: HostConnection;
  /** Registry credentials for pulls (replaces the seed's .secrets/github token file); absent pulls anonymously. */
  registry?: RegistryLogin;
}

/** `ssh://user@host:port`, with an IPv6 address in brackets. */
export function sshDockerHost(ssh: HostConnection): string {
  return `ssh://${describeConnection(ssh)}`;
}

/** The Docker engine the stack deploys to, with the credentials its image pulls use. */
export class DockerEngine extends pulumi.ComponentResource {
  /** Provider every container, image, volume and network of the stack is created with. */
  public readonly provider: docker.Provider;
  /** The endpoint the provider talks to ("" for the local socket). */
  public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: DockerEngineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:DockerEngine", name, {}, opts);
    const host = args.host ?? (args.ssh ? sshDockerHost(args.ssh) : undefined);
    // The options the docker CLI's ssh gets; -p is in the URL.
    const sshOpts = !args.host && args.ssh ? sshOptions(args.ssh).slice(0, -2) : undefined;
    this.provider = new docker.Provider(
      `${name}-provider`,
      {
        host,
        sshOpts,
        registryAuth: args.registry && [
          {
            address: args.registry.server,
            username: args.registry.username,
            password: pulumi.secret(args.registry.password),
          },
        ],
      },
      { parent: this },
    );
    this.endpoint = pulumi.output(host ?? "");
    this.registerOutputs({ endpoint: this.endpoint });
  }
}

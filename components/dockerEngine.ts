import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface RegistryLogin {
  /** Registry host, e.g. ghcr.io. */
  server: string;
  /** Account the token belongs to. */
  username: string;
  /** Read-only token, a Pulumi secret. */
  password: pulumi.Input<string>;
}

export interface DockerEngineArgs {
  /** Docker endpoint, e.g. ssh://root@vps; absent uses the local socket. */
  host?: string;
  /** Registry credentials for pulls (replaces the seed's .secrets/github token file); absent pulls anonymously. */
  registry?: RegistryLogin;
}

/** The Docker engine the stack deploys to, with the credentials its image pulls use. */
export class DockerEngine extends pulumi.ComponentResource {
  /** Provider every container, image, volume and network of the stack is created with. */
  public readonly provider: docker.Provider;

  constructor(name: string, args: DockerEngineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:DockerEngine", name, {}, opts);
    this.provider = new docker.Provider(
      `${name}-provider`,
      {
        host: args.host,
        registryAuth: args.registry && [
          { address: args.registry.server, username: args.registry.username, password: pulumi.secret(args.registry.password) },
        ],
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

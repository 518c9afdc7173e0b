import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface ServiceCredentialsInput {
  /** Service name, e.g. ems. */
  name: string;
  /** JWT_KEY set in config, or absent to generate one. */
  jwtKey?: pulumi.Input<string>;
  /** API_KEY set in config, or absent to generate one. */
  apiKey?: pulumi.Input<string>;
}

export interface CredentialsArgs {
  /** Postgres password set in config, or absent to generate one. */
  postgresPassword?: pulumi.Input<string>;
  /** The API services and the keys set for them. */
  services: ServiceCredentialsInput[];
}

export interface ServiceCredentials {
  jwtKey: pulumi.Output<string>;
  apiKey: pulumi.Output<string>;
}

/**
 * The system's credentials: the ones set with `pulumi config set --secret`, and generated ones for the rest.
 * Generated values live in the stack state, so they stay the same on every run until replaced on purpose.
 */
export class Credentials extends pulumi.ComponentResource {
  /** Postgres superuser password. */
  public readonly postgresPassword: pulumi.Output<string>;
  /**
   * Password an empty data volume is initialised with, replaced by `postgresPassword` as soon as the server is
   * up: it never changes, so rotating `postgresPassword` does not restart Postgres.
   */
  public readonly postgresBootstrapPassword: pulumi.Output<string>;
  /** JWT_KEY and API_KEY of each service, by service name. */
  public readonly services: Record<string, ServiceCredentials>;

  constructor(name: string, args: CredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Credentials", name, {}, opts);
    // `result` is a secret output of RandomPassword; wrapping it says so in the program too, not only in the engine.
    const generate = (id: string, length: number) =>
      pulumi.secret(new random.RandomPassword(`${name}-${id}`, { length, special: false }, { parent: this }).result);
    const given = (value: pulumi.Input<string> | undefined, id: string, length: number) =>
      value === undefined ? generate(id, length) : pulumi.secret(value);

    this.postgresPassword = given(args.postgresPassword, "postgres-password", 32);
    this.postgresBootstrapPassword = generate("postgres-bootstrap-password", 32);
    this.services = Object.fromEntries(
      args.services.map((s) => [
        s.name,
        { jwtKey: given(s.jwtKey, `${s.name}-jwt-key`, 64), apiKey: given(s.apiKey, `${s.name}-api-key`, 40) },
      ]),
    );
    this.registerOutputs({});
  }
}

import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** One service in CredentialsArgs.services. @public part of the component's Args (its API), though only built inline. */
export interface ServiceCredentialsInput {
  /** Service name, e.g. ems. */
  name: string;
  /** JWT_KEY set in config, or absent to generate one. */
  jwtKey?: pulumi.Input<string>;
  /** API_KEY set in config, or absent to generate one. */
  apiKey?: pulumi.Input<string>;
  /** The password of the service's database role set in config, or absent to generate one. */
  dbPassword?: pulumi.Input<string>;
}

export interface CredentialsArgs {
  /** Postgres superuser password set in config, or absent to generate one. */
  postgresPassword?: pulumi.Input<string>;
  /** The API services and the keys set for them. */
  services: ServiceCredentialsInput[];
  /** Make the salt of the dashboard's bcrypt hash (kept in state so the hash is the same on every run). */
  dashboardSalt?: boolean;
  /** Portainer's admin password set in config, or absent to generate one; only when Portainer runs. */
  portainerPassword?: pulumi.Input<string>;
  /** Portainer runs: its admin password is needed. */
  portainer?: boolean;
  /** Make the key of the Swarm secrets' versioned names (an HMAC of the content, kept in state). */
  secretNameKey?: boolean;
}

export interface ServiceCredentials {
  jwtKey: pulumi.Output<string>;
  apiKey: pulumi.Output<string>;
  dbPassword: pulumi.Output<string>;
}

/**
 * The system's credentials: the ones set with `pulumi config set --secret`, and generated ones for the rest.
 * Generated values live in the stack state, so they stay the same on every run until replaced on purpose
 * (`npm run rotate`).
 */
export class Credentials extends pulumi.ComponentResource {
  /** Postgres superuser password. */
  public readonly postgresPassword: pulumi.Output<string>;
  /**
   * Password an empty data volume is initialised with, replaced by `postgresPassword` as soon as the server is
   * up: it never changes, so rotating `postgresPassword` does not restart Postgres.
   */
  public readonly postgresBootstrapPassword: pulumi.Output<string>;
  /** JWT_KEY, API_KEY and database password of each service, by service name. */
  public readonly services: Record<string, ServiceCredentials>;
  /** 22 characters of bcrypt's alphabet, or undefined when not asked for. */
  public readonly dashboardSalt?: pulumi.Output<string>;
  /** Portainer's admin password, or undefined when Portainer does not run. */
  public readonly portainerPassword?: pulumi.Output<string>;
  /** 32 random characters, or undefined when not asked for. */
  public readonly secretNameKey?: pulumi.Output<string>;

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
        {
          jwtKey: given(s.jwtKey, `${s.name}-jwt-key`, 64),
          apiKey: given(s.apiKey, `${s.name}-api-key`, 40),
          dbPassword: given(s.dbPassword, `${s.name}-db-password`, 32),
        },
      ]),
    );
    if (args.dashboardSalt) this.dashboardSalt = generate("dashboard-salt", 22);
    if (args.portainer) this.portainerPassword = given(args.portainerPassword, "portainer-password", 32);
    if (args.secretNameKey) this.secretNameKey = generate("secret-name-key", 32);
    this.registerOutputs({});
  }
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, dataVolume, memoryLimit, toLabels } from "./containerDefaults";
import type { EngineCapabilities } from "./engine";
import { HostConnection, hostCommand } from "./hostCommand";
import { readScript, shellQuote } from "./shell";

/** A service's own login role and database. */
export interface DatabaseRole {
  /** Login role, e.g. ems_user: owns its database, no other right. */
  role: string;
  /** Database, e.g. ems_production. */
  database: string;
  /** The role's password, a Pulumi secret. */
  password: pulumi.Input<string>;
}

export interface PostgresArgs {
  /** Pinned official image, the same in every stack (e.g. postgres:17.6-alpine). */
  image: string;
  /** Fixed container name: the API containers' DB_HOST and the backup job's `docker exec` target. */
  containerName: string;
  /** Named Docker volume holding the data directory; an existing one is adopted as it is. */
  volumeName: string;
  /** Internal network (no route outside) shared only with the API containers. */
  networkName: string;
  /** Superuser name (the one that exists on an adopted volume). */
  user: string;
  /** Superuser password, a Pulumi secret; applied to the role on every deploy that changes it. */
  password: pulumi.Input<string>;
  /** Password initdb gives the superuser on an empty volume (a secret that never changes). */
  bootstrapPassword: pulumi.Input<string>;
  /** One role and database per API service; missing ones are created, passwords applied on every change. */
  roles: DatabaseRole[];
  /** Memory limit of the container. */
  memoryMb: number;
  /** What the Docker engine can do (`ems-infra:engine`); default: a current engine. */
  engine?: EngineCapabilities;
  /** Labels that say what the container is (`com.ems.service`, `com.ems.environment`). */
  identity?: Record<string, string>;
  /** SSH connection to the Docker host, for `docker exec`; absent runs on this machine. */
  connection?: HostConnection;
  /** Protect the data volume from `pulumi destroy` and renames (prod). */
  protectData?: boolean;
}

export const POSTGRES_PORT = 5432;
export const DATA_DIR = "/var/lib/postgresql/data";
/** The official image reads the initdb password from this file (POSTGRES_PASSWORD_FILE): not in Env. */
export const PASSWORD_FILE = "/run/secrets/postgres-password";
/** Seconds Postgres gets to shut down cleanly, on a replacement and on a daemon restart or reboot. */
export const STOP_SECONDS = 60;

/** The databases command's standard input: the settings as shell assignments, then ensure-databases.sh. */
export function ensureDatabasesInput(
  superuser: string,
  superuserPassword: string,
  roles: { role: string; database: string; password: string }[],
): string {
  const lines = [
    `POSTGRES_USER=${shellQuote(superuser)}`,
    `SUPERUSER_PASSWORD=${shellQuote(superuserPassword)}`,
    `SERVICE_ROLES=${shellQuote(roles.map((r) => `${r.role}:${r.database}`).join(" "))}`,
    ...roles.map((r) => `ROLE_PASSWORD_${r.role}=${shellQuote(r.password)}`),
    `export POSTGRES_USER SUPERUSER_PASSWORD SERVICE_ROLES ${roles.map((r) => `ROLE_PASSWORD_${r.role}`).join(" ")}`,
  ];
  return `${lines.join("\n")}\n${readScript("ensure-databases.sh")}`;
}

/** PostgreSQL on a named volume, reachable only over an internal network; one role and database per service. */
export class Postgres extends pulumi.ComponentResource {
  /** Name of the internal network the API containers join. */
  public readonly networkName: pulumi.Output<string>;
  /** Name of the data volume. */
  public readonly volumeName: pulumi.Output<string>;
  /** The `docker exec` target of backups and restores. */
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Postgres", name, {}, opts);
    const network = new docker.Network(
      `${name}-network`,
      { name: args.networkName, internal: true, driver: "bridge" },
      { parent: this },
    );
    const volume = dataVolume(`${name}-data`, args.volumeName, args.protectData, this);
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest.apply((digest) => digest || args.image),
        // initdb (an empty volume only) reads the bootstrap password from a file; the real password is set by the
        // databases command below, so a rotation changes no container input and the server keeps running.
        envs: [`POSTGRES_USER=${args.user}`, `POSTGRES_PASSWORD_FILE=${PASSWORD_FILE}`, `PGDATA=${DATA_DIR}`],
        uploads: [{ file: PASSWORD_FILE, content: pulumi.secret(args.bootstrapPassword) }],
        mounts: [{ type: "volume", source: volume.name, target: DATA_DIR }],
        networksAdvanced: [{ name: network.name, aliases: ["postgres"] }],
        labels: toLabels(args.identity ?? {}),
        healthcheck: {
          // Over TCP, not the socket: initdb's temporary server listens on the socket only.
          tests: ["CMD-SHELL", `pg_isready -h 127.0.0.1 -U ${shellQuote(args.user)} -d postgres`],
          interval: "10s",
          timeout: "5s",
          retries: 5,
          startPeriod: "30s",
        },
        ...memoryLimit(args.memoryMb, args.engine),
        shmSize: 128,
        wait: true,
        waitTimeout: 180,
        stopTimeout: STOP_SECONDS,
        destroyGraceSeconds: STOP_SECONDS,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      {
        parent: this,
        // Two servers on one data volume corrupt it: the old container always stops first.
        deleteBeforeReplace: true,
        replaceOnChanges: ["healthcheck"],
        ignoreChanges: READ_BACK_IGNORED,
        additionalSecretOutputs: ["uploads"],
      },
    );

    // Creates the services' roles and databases on an existing volume too (initdb scripts only run on an empty
    // one) and applies the current passwords, so rotating one is one `pulumi up`. It re-runs when the container is
    // replaced or the roles change (triggers), and when a password changes (its stdin).
    const stdin = pulumi
      .all([args.password, pulumi.all(args.roles.map((r) => pulumi.output(r.password)))])
      .apply(([password, passwords]) =>
        ensureDatabasesInput(
          args.user,
          password,
          args.roles.map((r, i) => ({ role: r.role, database: r.database, password: passwords[i] })),
        ),
      );
    hostCommand(
      `${name}-databases`,
      {
        create: container.name.apply((c) => `docker exec -i ${shellQuote(c)} sh -s`),
        stdin: pulumi.secret(stdin),
        triggers: [container.id, ...args.roles.map((r) => `${r.role}:${r.database}`)],
      },
      args.connection,
      { parent: this, dependsOn: [container], additionalSecretOutputs: ["stdin"] },
    );

    this.networkName = network.name;
    this.volumeName = volume.name;
    this.containerName = container.name;
    this.registerOutputs({
      networkName: this.networkName,
      volumeName: this.volumeName,
      containerName: this.containerName,
    });
  }
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION } from "./containerDefaults";
import { HostConnection, hostCommand } from "./hostCommand";
import { readScript, shellQuote } from "./shell";

export interface PostgresArgs {
  /** Pinned official image, the same in every stack (e.g. postgres:16.6). */
  image: string;
  /** Fixed container name: the API containers' DB_HOST and the backup job's `docker exec` target. */
  containerName: string;
  /** Named Docker volume holding the data directory. */
  volumeName: string;
  /** Internal network (no route outside) shared only with the API containers. */
  networkName: string;
  /** Superuser name. */
  user: string;
  /** Superuser password, a Pulumi secret; applied to the role on every deploy that changes it. */
  password: pulumi.Input<string>;
  /** Password initdb gives the superuser on an empty volume (a secret that never changes). */
  bootstrapPassword: pulumi.Input<string>;
  /** Databases that must exist (one per API service); missing ones are created on every deploy. */
  databases: string[];
  /** Memory limit of the container. */
  memoryMb: number;
  /** SSH connection to the Docker host, for `docker exec`; absent runs on this machine. */
  connection?: HostConnection;
  /** Protect the data volume from `pulumi destroy` and renames (prod). */
  protectData?: boolean;
}

export const POSTGRES_PORT = 5432;
const DATA_DIR = "/var/lib/postgresql/data";

/** PostgreSQL on a named volume, reachable only over an internal network. */
export class Postgres extends pulumi.ComponentResource {
  /** Name of the internal network the API containers join. */
  public readonly networkName: pulumi.Output<string>;
  /** Name of the data volume. */
  public readonly volumeName: pulumi.Output<string>;
  /** The `docker exec` target of backups and restores. */
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Postgres", name, {}, opts);
    const network = new docker.Network(`${name}-network`, { name: args.networkName, internal: true, driver: "bridge" }, { parent: this });
    const volume = new docker.Volume(
      `${name}-data`,
      { name: args.volumeName },
      { parent: this, protect: args.protectData, retainOnDelete: args.protectData },
    );
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest.apply((digest) => digest || args.image),
        // Only initdb reads POSTGRES_PASSWORD: the real password is set by the databases command below, so a
        // rotation changes no container input and the server keeps running.
        envs: pulumi.secret(pulumi.output(args.bootstrapPassword).apply((password) => [`POSTGRES_USER=${args.user}`, `POSTGRES_PASSWORD=${password}`, `PGDATA=${DATA_DIR}`])),
        mounts: [{ type: "volume", source: volume.name, target: DATA_DIR }],
        networksAdvanced: [{ name: network.name, aliases: ["postgres"] }],
        healthcheck: {
          tests: ["CMD-SHELL", `pg_isready -U ${args.user} -d postgres`],
          interval: "10s",
          timeout: "5s",
          retries: 5,
          startPeriod: "30s",
        },
        memory: args.memoryMb,
        shmSize: 128,
        wait: true,
        waitTimeout: 180,
        destroyGraceSeconds: 60,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      // Two servers on one data volume corrupt it: the old container always stops first.
      // additionalSecretOutputs: the env holds the password, so its read-back state is encrypted too.
      { parent: this, deleteBeforeReplace: true, additionalSecretOutputs: ["envs"] },
    );

    // Creates missing databases on an existing volume too (initdb scripts only run on an empty one), and
    // applies the current password to the role, so rotating the secret is one `pulumi up`. It re-runs when the
    // container is replaced or the databases change (triggers), and when the password changes (its stdin).
    const stdin = pulumi
      .output(args.password)
      .apply((password) => `DATABASES=${shellQuote(args.databases.join(" "))}\nNEW_PASSWORD=${shellQuote(password)}\nexport DATABASES NEW_PASSWORD\n${readScript("ensure-databases.sh")}`);
    hostCommand(
      `${name}-databases`,
      {
        create: pulumi.interpolate`docker exec -i ${container.name} sh -s`,
        stdin: pulumi.secret(stdin),
        triggers: [container.id, ...args.databases],
      },
      args.connection,
      { parent: this, dependsOn: [container], additionalSecretOutputs: ["stdin"] },
    );

    this.networkName = network.name;
    this.volumeName = volume.name;
    this.containerName = container.name;
    this.registerOutputs({ networkName: this.networkName, volumeName: this.volumeName, containerName: this.containerName });
  }
}

import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dataVolume, toLabels } from "./containerDefaults";
import { HostConnection, hostCommand } from "./hostCommand";
import { DATA_DIR, DatabaseRole, PASSWORD_FILE, STOP_SECONDS, ensureDatabasesInput } from "./postgres";
import { shellQuote } from "./shell";
import {
  SWARM_LOG_DRIVER,
  nodeLabelConstraint,
  stopFirstUpdate,
  taskResources,
  versionedSecret,
} from "./swarmDefaults";

export interface SwarmPostgresArgs {
  /** Pinned official image (e.g. postgres:17.6-alpine). */
  image: string;
  /** The Swarm service's name: the APIs' DB_HOST (Swarm's DNS resolves it on the database network). */
  serviceName: string;
  /** Named volume on the pinned node holding the data directory; an existing one is adopted as it is. */
  volumeName: string;
  /** The pinned node's engine: the volume is created there, a resource of the stack (protected with protectData). */
  volumeProvider: docker.Provider;
  /** Production: the data volume can be neither destroyed nor replaced, and is kept if removed from the stack. */
  protectData: boolean;
  /** Internal, encrypted overlay network shared only with the API services. */
  networkName: string;
  /** Node label (`key=value`) of the one node holding the volume. */
  pin: string;
  /** Superuser name. */
  user: string;
  /** Superuser password, a Pulumi secret; applied by the databases command. */
  password: pulumi.Input<string>;
  /** Password initdb gives the superuser on an empty volume (a secret that never changes). */
  bootstrapPassword: pulumi.Input<string>;
  /** Key of the secret names' HMAC. */
  secretNameKey: pulumi.Input<string>;
  /** One role and database per API service. */
  roles: DatabaseRole[];
  /** Memory limit of the task. */
  memoryMb: number;
  /** Labels that say what the service is. */
  identity: Record<string, string>;
  /** SSH connection to the pinned node (`docker exec` into the task runs there). */
  connection?: HostConnection;
}

/** The shell words that find the running Postgres task's container on its node (its name carries a task id). */
export function swarmTaskContainer(serviceName: string): string {
  return `"$(docker ps -q --filter label=com.docker.swarm.service.name=${shellQuote(serviceName)} | head -n 1)"`;
}

/**
 * PostgreSQL as one Swarm task pinned by a node label to the node holding its volume (a local volume lives on one
 * disk; Swarm would otherwise start it elsewhere on an empty one), on an internal encrypted overlay network. The
 * volume is a docker.Volume made through that node's engine, so production protects it as on one engine.
 */
export class SwarmPostgres extends pulumi.ComponentResource {
  /** Name of the database network the API services join. */
  public readonly networkName: pulumi.Output<string>;
  /** Its id. */
  public readonly networkId: pulumi.Output<string>;
  /** The Swarm service's name. */
  public readonly serviceName: pulumi.Output<string>;
  /** The data volume's name (on the pinned node). */
  public readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: SwarmPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:SwarmPostgres", name, {}, opts);
    const network = new docker.Network(
      `${name}-network`,
      { name: args.networkName, driver: "overlay", internal: true, options: { encrypted: "true" } },
      { parent: this },
    );
    const bootstrap = versionedSecret(
      `${name}-bootstrap-password`,
      `${args.serviceName}-bootstrap-password`,
      args.bootstrapPassword,
      args.secretNameKey,
      args.identity,
      this,
    );
    const volume = dataVolume(`${name}-data`, args.volumeName, args.protectData, this, args.volumeProvider);
    const service = new docker.Service(
      name,
      {
        name: args.serviceName,
        mode: { replicated: { replicas: 1 } },
        labels: toLabels(args.identity),
        taskSpec: {
          containerSpec: {
            image: args.image,
            env: { POSTGRES_USER: args.user, POSTGRES_PASSWORD_FILE: PASSWORD_FILE, PGDATA: DATA_DIR },
            labels: toLabels(args.identity),
            secrets: [{ secretId: bootstrap.id, secretName: bootstrap.name, fileName: PASSWORD_FILE, fileMode: 0o400 }],
            mounts: [{ type: "volume", source: volume.name, target: DATA_DIR }],
            healthcheck: {
              tests: ["CMD-SHELL", `pg_isready -h 127.0.0.1 -U ${shellQuote(args.user)} -d postgres`],
              interval: "10s",
              timeout: "5s",
              retries: 5,
              startPeriod: "30s",
            },
            stopGracePeriod: `${STOP_SECONDS}s`,
          },
          resources: taskResources(args.memoryMb),
          logDriver: SWARM_LOG_DRIVER,
          networksAdvanceds: [{ id: network.id, aliases: ["postgres"] }],
          placement: { constraints: [nodeLabelConstraint(args.pin)] },
          restartPolicy: { condition: "any", delay: "5s" },
        },
        // Two servers on one data directory corrupt it: the old task stops first.
        ...stopFirstUpdate(30),
        convergeConfig: { delay: "5s", timeout: "4m" },
      },
      { parent: this, dependsOn: [volume] },
    );

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
        create: `docker exec -i ${swarmTaskContainer(args.serviceName)} sh -s`,
        stdin: pulumi.secret(stdin),
        triggers: [service.id, ...args.roles.map((r) => `${r.role}:${r.database}`)],
      },
      args.connection,
      { parent: this, dependsOn: [service], additionalSecretOutputs: ["stdin"] },
    );

    this.networkName = network.name;
    this.networkId = network.id;
    this.serviceName = service.name;
    this.volumeName = volume.name;
    this.registerOutputs({ networkName: this.networkName, serviceName: this.serviceName });
  }
}

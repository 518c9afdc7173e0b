import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ApiContract, apiHealthcheck, imageReference, traefikLabels } from "./apiContract";
import { toLabels } from "./containerDefaults";
import { RegistryLogin } from "./dockerEngine";
import { EMS_RUN_BINARY, EMS_RUN_PATH, SECRETS_ENV_PATH, secretsEnvFile } from "./probe";
import {
  SWARM_LOG_DRIVER,
  nodeLabelConstraint,
  rollingUpdate,
  taskResources,
  versionedConfig,
  versionedSecret,
} from "./swarmDefaults";
import * as fs from "fs";

/** Where the tasks' uploads are, and so where the tasks may run. */
export type SwarmUploads =
  /** On one node's disk (uploadsHostPath), the node with this label (`key=value`): every task runs there. */
  | { pin: string }
  /** On shared storage: a local volume with these driver options (NFS), made by Swarm on each task's node. */
  | { volume: string; driverOptions: Record<string, string> };

export interface SwarmApiServiceArgs extends ApiContract {
  /** The Swarm service's name (fixed: status, logs and Traefik find it by name). */
  serviceName: string;
  /** Tasks the service keeps running (spread across the nodes when the uploads are shared). */
  replicas: number;
  /** Where the uploads are: one node's folder (the tasks are pinned there) or a shared volume (they spread). */
  uploads: SwarmUploads;
  /** The overlay network Traefik reaches the tasks on: its name (labels) and id (the task's attachment). */
  proxyNetwork: { name: pulumi.Input<string>; id: pulumi.Input<string> };
  /** The internal overlay network of the database (its id). */
  dbNetworkId: pulumi.Input<string>;
  /** Key of the secret names' HMAC (a generated secret kept in the state). */
  secretNameKey: pulumi.Input<string>;
  /** Registry credentials every node pulls the image with (a secret); absent pulls anonymously. */
  registry?: RegistryLogin;
  /** Resources the service waits for (the database, the host folders, the proxy). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Seconds the tasks are stopped with before being killed: the server ignores SIGTERM (real-system.md §6). */
const STOP_GRACE = "30s";

/**
 * One API as a replicated Swarm service: the same contract as ApiService (image, env, secrets, health, route),
 * with ems-run as a Swarm config and the credentials as a Swarm secret (both versioned by content, so a new
 * binary or a rotation rolls the service), rolling updates start-first gated by the health check and rolled
 * back by Swarm when a new version does not get healthy. The tasks run on the node holding the uploads folder, or
 * spread across the nodes when the uploads are on shared storage.
 */
export class SwarmApiService extends pulumi.ComponentResource {
  /** The image reference the tasks run. */
  public readonly imageRef: pulumi.Output<string>;
  /** The public URL. */
  public readonly url: pulumi.Output<string>;
  /** The Swarm service's name. */
  public readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: SwarmApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:SwarmApiService", name, {}, opts);
    const imageRef = imageReference(name, args, this);
    const emsRun = versionedConfig(
      `${name}-ems-run`,
      `${args.serviceName}-ems-run`,
      fs.readFileSync(EMS_RUN_BINARY),
      args.identity,
      this,
    );
    const secretsFile = pulumi.all(args.secrets).apply((values) => secretsEnvFile(values));
    const secret = versionedSecret(
      `${name}-secrets`,
      `${args.serviceName}-secrets`,
      secretsFile,
      args.secretNameKey,
      args.identity,
      this,
    );
    const health = apiHealthcheck(args.port, args.healthPath, args.health);

    const service = new docker.Service(
      name,
      {
        name: args.serviceName,
        ...(args.registry
          ? {
              auth: {
                serverAddress: args.registry.server,
                username: args.registry.username,
                password: pulumi.secret(args.registry.password),
              },
            }
          : {}),
        mode: { replicated: { replicas: args.replicas } },
        labels: pulumi
          .output(args.proxyNetwork.name)
          .apply((network) =>
            toLabels({ ...traefikLabels({ ...args, network, provider: "swarm" }), ...args.identity }),
          ),
        taskSpec: {
          containerSpec: {
            image: imageRef,
            // The Service API has no entrypoint: `commands` replaces it, `args` is the server's command line.
            commands: [EMS_RUN_PATH],
            args: args.command,
            env: args.env,
            labels: toLabels(args.identity),
            configs: [{ configId: emsRun.id, configName: emsRun.name, fileName: EMS_RUN_PATH, fileMode: 0o555 }],
            secrets: [{ secretId: secret.id, secretName: secret.name, fileName: SECRETS_ENV_PATH, fileMode: 0o400 }],
            mounts: [
              "pin" in args.uploads
                ? { type: "bind", source: args.uploadsHostPath, target: args.uploadsDir }
                : {
                    type: "volume",
                    source: args.uploads.volume,
                    target: args.uploadsDir,
                    volumeOptions: { driverName: "local", driverOptions: args.uploads.driverOptions },
                  },
              { type: "bind", source: args.logsHostPath, target: args.logsDir },
            ],
            // No securityOpts (no-new-privileges) on the Service API: the servers need no capability (they listen
            // above 1024) and write only to the mounts (UPLOAD_PATH, the log folder), so the root is read-only.
            capDrops: ["ALL"],
            readOnly: true,
            // The Service API (1.41) has no start interval: the first probe comes one interval after the start.
            healthcheck: {
              tests: health.tests,
              interval: health.interval,
              timeout: health.timeout,
              startPeriod: health.startPeriod,
              retries: health.retries,
            },
            stopGracePeriod: STOP_GRACE,
          },
          resources: taskResources(args.memoryMb),
          logDriver: SWARM_LOG_DRIVER,
          networksAdvanceds: [{ id: args.proxyNetwork.id }, { id: args.dbNetworkId }],
          placement:
            "pin" in args.uploads
              ? // The uploads folder is on that node's disk: a task elsewhere would write into another folder.
                { constraints: [nodeLabelConstraint(args.uploads.pin)] }
              : // One task per node before a second on any (a lost node takes at most its share of each API).
                { prefs: ["spread=node.id"] },
          restartPolicy: { condition: "any", delay: "5s", window: "1m0s" },
        },
        // A task counts as started once healthy (Swarm waits for the health check); it is then watched for one
        // probe interval before the next one is replaced.
        ...rollingUpdate(args.health.intervalSeconds),
        // `pulumi up` waits until every task runs the new spec (or Swarm rolled it back: the up then fails).
        convergeConfig: {
          delay: "5s",
          timeout: `${Math.ceil((args.health.timeoutSeconds * 2 * (args.replicas + 1)) / 60)}m`,
        },
      },
      { parent: this, dependsOn: args.dependsOn, additionalSecretOutputs: ["auth"] },
    );

    this.imageRef = imageRef;
    this.url = pulumi.output(`https://${args.host}`);
    this.serviceName = service.name;
    this.registerOutputs({ imageRef: this.imageRef, url: this.url, serviceName: this.serviceName });
  }
}

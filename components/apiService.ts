import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ApiContract, apiHealthcheck, envEntries, imageReference, traefikLabels } from "./apiContract";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, memoryLimit, toLabels } from "./containerDefaults";
import { EngineCapabilities } from "./engine";
import { EMS_RUN_PATH, SECRET_FILE_MODE, SECRETS_ENV_PATH, emsRunBase64, secretsEnvFile } from "./probe";

export { traefikLabels } from "./apiContract";

export interface ApiServiceArgs extends ApiContract {
  /** Traefik's network (the router reaches the container on it). */
  proxyNetwork: pulumi.Input<string>;
  /** The internal database network. */
  dbNetwork: pulumi.Input<string>;
  /** What the Docker engine can do (`ems-infra:engine`); default: a current engine. */
  engine?: EngineCapabilities;
  /** Resources the container waits for (the database, the host folders, the proxy). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** One API (EMS, SMS, or the next one): pinned image, HTTPS route, health-gated zero-downtime replacement. */
export class ApiService extends pulumi.ComponentResource {
  /** The image reference the container runs. */
  public readonly imageRef: pulumi.Output<string>;
  /** The public URL. */
  public readonly url: pulumi.Output<string>;
  /** The current container's name (generated: two versions run side by side during a deploy). */
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: ApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:ApiService", name, {}, opts);
    const imageRef = imageReference(name, args, this);
    const secretsFile = pulumi.secret(pulumi.all(args.secrets).apply((values) => secretsEnvFile(values)));
    const container = new docker.Container(
      name,
      {
        image: imageRef,
        entrypoints: [EMS_RUN_PATH],
        command: args.command,
        envs: envEntries(args.env),
        uploads: [
          { file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true },
          // Readable by its owner only: root, which the servers run as (their images set no USER).
          { file: SECRETS_ENV_PATH, content: secretsFile, permissions: SECRET_FILE_MODE },
        ],
        labels: pulumi
          .output(args.proxyNetwork)
          .apply((network) => toLabels({ ...traefikLabels({ ...args, network }), ...args.identity })),
        mounts: [
          { type: "bind", source: args.uploadsHostPath, target: args.uploadsDir },
          { type: "bind", source: args.logsHostPath, target: args.logsDir },
        ],
        networksAdvanced: [{ name: args.proxyNetwork }, { name: args.dbNetwork }],
        healthcheck: apiHealthcheck(args.port, args.healthPath, args.health, args.engine),
        ...memoryLimit(args.memoryMb, args.engine),
        // `pulumi up` waits for healthy before the old container is removed; Traefik routes only to healthy ones.
        wait: true,
        waitTimeout: args.health.timeoutSeconds,
        // The server ignores SIGTERM: the old container keeps serving for 30 s, then is killed (the routers retry).
        destroyGraceSeconds: 30,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      {
        parent: this,
        // No fixed name and no host port, so the new version starts beside the old one.
        deleteBeforeReplace: false,
        // Any change replaces, including after a failed health wait: the engine then creates a new container
        // instead of an empty update that would delete the last healthy one (provider-facts B3).
        replaceOnChanges: ["*"],
        // startInterval and memorySwap follow the engine (ems-infra:engine): a change of engine replaces once.
        ignoreChanges: [...READ_BACK_IGNORED],
        dependsOn: args.dependsOn,
        additionalSecretOutputs: ["uploads"],
      },
    );

    this.imageRef = imageRef;
    this.url = pulumi.output(`https://${args.host}`);
    this.containerName = container.name;
    this.registerOutputs({ imageRef: this.imageRef, url: this.url, containerName: this.containerName });
  }
}

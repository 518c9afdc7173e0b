import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, goDuration, memoryLimit, toLabels } from "./containerDefaults";
import { CURRENT_ENGINE, EngineCapabilities } from "./engine";
import { EMS_RUN_PATH, SECRETS_ENV_PATH, emsRunBase64, probeHealthcheckTests, secretsEnvFile } from "./probe";
import { API_MIDDLEWARES, ENTRYPOINT_WEBSECURE } from "./traefikConfig";

export interface ApiHealth {
  /** Seconds a new version may take to answer 200 before the deploy fails. */
  timeoutSeconds: number;
  /** Seconds between probes once healthy. */
  intervalSeconds: number;
  /** Seconds between probes while starting (Engine API 1.44+: older engines probe every intervalSeconds). */
  startIntervalSeconds: number;
}

export interface ApiServiceArgs {
  /** Image repository without tag, e.g. ghcr.io/edumigsoft/ems-server. */
  image: string;
  /** The tag deployed, e.g. 1.2.1. */
  version: string;
  /** `registry`: pulled once and run by digest; `local`: built on this machine, run by its image id. */
  imageSource: "registry" | "local";
  /** Name of the Traefik router and service; the same across versions so both containers share it. */
  routerName: string;
  /** Public host name routed to the API, e.g. api.ems.edumigsoft.com.br. */
  host: string;
  /** Port the server listens on inside the container (compiled into the server). */
  port: number;
  /** Path answered 200 with the service's x-api-key when healthy. */
  healthPath: string;
  /** The health gate's timings. */
  health: ApiHealth;
  /** Traefik's certificate resolver for the router, absent for files (mkcert). */
  certResolver?: string;
  /** Labels that say what the container is (`com.ems.service`, `com.ems.environment`). */
  identity: Record<string, string>;
  /** The server's command line inside the image. */
  command: string[];
  /** Plain environment (never a credential: those go in `secrets`). */
  env: Record<string, string>;
  /** Credentials, as Pulumi secrets: loaded from a file by ems-run, never in the container's Env. */
  secrets: Record<string, pulumi.Input<string>>;
  /** Host folder mounted at uploadsDir. */
  uploadsHostPath: string;
  /** Where the server writes uploads inside the container. */
  uploadsDir: string;
  /** Host folder mounted at logsDir. */
  logsHostPath: string;
  /** Where the server writes its log inside the container. */
  logsDir: string;
  /** Traefik's network (the router reaches the container on it). */
  proxyNetwork: pulumi.Input<string>;
  /** The internal database network. */
  dbNetwork: pulumi.Input<string>;
  /** Memory limit of the container. */
  memoryMb: number;
  /** What the Docker engine can do (`ems-infra:engine`); default: a current engine. */
  engine?: EngineCapabilities;
  /** Resources the container waits for (the database, the host folders, the proxy). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Traefik labels routing `host` over HTTPS to the container, identical for every version of the service. */
export function traefikLabels(args: {
  routerName: string;
  host: string;
  port: number;
  certResolver?: string;
  network: string;
}): Record<string, string> {
  const router = `traefik.http.routers.${args.routerName}`;
  return {
    "traefik.enable": "true",
    "traefik.docker.network": args.network,
    [`${router}.rule`]: `Host(\`${args.host}\`)`,
    [`${router}.entrypoints`]: ENTRYPOINT_WEBSECURE,
    [`${router}.tls`]: "true",
    ...(args.certResolver ? { [`${router}.tls.certresolver`]: args.certResolver } : {}),
    [`${router}.middlewares`]: API_MIDDLEWARES.join(","),
    [`${router}.service`]: args.routerName,
    [`traefik.http.services.${args.routerName}.loadbalancer.server.port`]: String(args.port),
  };
}

/**
 * Docker's healthcheck for the API: ems-run's exec-form probe, nothing needed inside the image. The start interval
 * only where the engine takes it: below Engine API 1.44 the provider's client refuses the create (provider-facts §9).
 */
export function apiHealthcheck(
  port: number,
  healthPath: string,
  health: ApiHealth,
  engine: EngineCapabilities = CURRENT_ENGINE,
): docker.types.input.ContainerHealthcheck {
  return {
    tests: probeHealthcheckTests(port, healthPath),
    interval: goDuration(health.intervalSeconds),
    ...(engine.healthcheckStartInterval ? { startInterval: goDuration(health.startIntervalSeconds) } : {}),
    // Probes failing while the server starts do not count: the gate is the wait below.
    startPeriod: goDuration(health.timeoutSeconds),
    timeout: "5s",
    retries: 3,
  };
}

/**
 * What the container runs. A registry image is pulled once (kept for rollbacks) and run by digest; a local
 * image (built by dev.sh / docker build) is looked up on every run and run by its id, so a rebuild under the
 * same tag is redeployed.
 */
function imageReference(
  name: string,
  args: Pick<ApiServiceArgs, "image" | "version" | "imageSource">,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const tagged = `${args.image}:${args.version}`;
  if (args.imageSource === "local")
    return docker.getRemoteImageOutput({ name: tagged }, { parent }).apply((image) => image.id);
  // keepLocally: a rollback to the previous version starts without a pull.
  const image = new docker.RemoteImage(`${name}-image`, { name: tagged, keepLocally: true }, { parent });
  return image.repoDigest.apply((digest) => digest || tagged);
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
        envs: Object.keys(args.env)
          .sort()
          .map((key) => `${key}=${args.env[key]}`),
        uploads: [
          { file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true },
          { file: SECRETS_ENV_PATH, content: secretsFile },
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

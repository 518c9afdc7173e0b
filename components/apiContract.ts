/**
 * What an API is, whatever runs it (a container on one engine, a service on a swarm): its image, environment,
 * credentials, health check and route. ApiService and SwarmApiService both build on this one contract.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { goDuration } from "./containerDefaults";
import { CURRENT_ENGINE, EngineCapabilities } from "./engine";
import { probeHealthcheckTests } from "./probe";
import { API_MIDDLEWARES, ENTRYPOINT_WEBSECURE } from "./traefikConfig";

export interface ApiHealth {
  /** Seconds a new version may take to answer 200 before the deploy fails. */
  timeoutSeconds: number;
  /** Seconds between probes once healthy. */
  intervalSeconds: number;
  /** Seconds between probes while starting (Engine API 1.44+: older engines probe every intervalSeconds). */
  startIntervalSeconds: number;
}

export interface ApiContract {
  /** Image repository without tag, e.g. ghcr.io/edumigsoft/ems-server. */
  image: string;
  /** The tag deployed, e.g. 1.2.1. */
  version: string;
  /** `registry`: pulled once and run by digest; `local`: built on this machine, run by its image id. */
  imageSource: "registry" | "local";
  /** Name of the Traefik router and service; the same across versions so every task or container shares it. */
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
  /** Memory limit of the container. */
  memoryMb: number;
}

/** Which Traefik provider reads the labels: `docker` (container labels) or `swarm` (service labels). */
export type TraefikProvider = "docker" | "swarm";

/** Traefik labels routing `host` over HTTPS to the API, identical for every version of the service. */
export function traefikLabels(args: {
  routerName: string;
  host: string;
  port: number;
  certResolver?: string;
  network: string;
  provider?: TraefikProvider;
}): Record<string, string> {
  const provider = args.provider ?? "docker";
  const router = `traefik.http.routers.${args.routerName}`;
  return {
    "traefik.enable": "true",
    [`traefik.${provider}.network`]: args.network,
    // Traefik balances across the tasks itself (and its retry reaches another one), not through Swarm's VIP.
    ...(provider === "swarm" ? { "traefik.swarm.lbswarm": "false" } : {}),
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

/** The plain environment as `NAME=value` entries, sorted so the order is never a diff. */
export function envEntries(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`);
}

/**
 * What the API runs. A registry image is pulled once (kept for rollbacks) and run by digest; a local
 * image (built by dev.sh / docker build) is looked up on every run and run by its id, so a rebuild under the
 * same tag is redeployed.
 */
export function imageReference(
  name: string,
  args: Pick<ApiContract, "image" | "version" | "imageSource">,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  const tagged = `${args.image}:${args.version}`;
  if (args.imageSource === "local")
    return docker.getRemoteImageOutput({ name: tagged }, { parent }).apply((image) => image.id);
  // keepLocally: a rollback to the previous version starts without a pull.
  const image = new docker.RemoteImage(`${name}-image`, { name: tagged, keepLocally: true }, { parent });
  return image.repoDigest.apply((digest) => digest || tagged);
}

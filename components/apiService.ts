import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION, toLabels } from "./containerDefaults";
import { API_MIDDLEWARES, CERT_RESOLVER, ENTRYPOINT_WEBSECURE } from "./traefikConfig";

export interface ApiServiceArgs {
  /** Image repository without tag, e.g. ghcr.io/edumigsoft/ems. */
  image: string;
  /** Pinned image tag, e.g. 1.4.2. */
  version: string;
  /** Name of the Traefik router and service; the same across versions so both containers share it. */
  routerName: string;
  /** Public host name routed to the API, e.g. api.ems.edumigsoft.com.br. */
  host: string;
  /** Port the API listens on inside the container. */
  port: number;
  /** HTTP path answered with 2xx when healthy. */
  healthPath: string;
  /** Whether the router asks Traefik's Let's Encrypt resolver for its certificate. */
  acme: boolean;
  /** Environment; credentials among it must be Pulumi secrets. */
  env: Record<string, pulumi.Input<string>>;
  /** Host folder mounted at uploadsDir. */
  uploadsHostPath: string;
  /** Where the API writes uploads inside the container. */
  uploadsDir: string;
  /** Host folder mounted at logsDir. */
  logsHostPath: string;
  /** Where the API writes logs inside the container. */
  logsDir: string;
  /** Traefik's network (the router reaches the container on it). */
  proxyNetwork: pulumi.Input<string>;
  /** The internal database network. */
  dbNetwork: pulumi.Input<string>;
  /** Memory limit of the container. */
  memoryMb: number;
  /** Resources the container waits for (the database, the host folders, the proxy). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Traefik labels routing `host` over HTTPS to the container, identical for every version of the service. */
export function traefikLabels(args: { routerName: string; host: string; port: number; acme: boolean; network: string }): Record<string, string> {
  const router = `traefik.http.routers.${args.routerName}`;
  return {
    "traefik.enable": "true",
    "traefik.docker.network": args.network,
    [`${router}.rule`]: `Host(\`${args.host}\`)`,
    [`${router}.entrypoints`]: ENTRYPOINT_WEBSECURE,
    [`${router}.tls`]: "true",
    ...(args.acme ? { [`${router}.tls.certresolver`]: CERT_RESOLVER } : {}),
    [`${router}.middlewares`]: API_MIDDLEWARES.join(","),
    [`${router}.service`]: args.routerName,
    [`traefik.http.services.${args.routerName}.loadbalancer.server.port`]: String(args.port),
  };
}

/** One API (EMS, SMS, or the next one): pinned image, HTTPS route, health-gated zero-downtime replacement. */
export class ApiService extends pulumi.ComponentResource {
  /** The image reference the container runs (by digest when the registry gives one). */
  public readonly imageRef: pulumi.Output<string>;
  /** The public URL. */
  public readonly url: pulumi.Output<string>;
  /** The current container's name (generated: two versions run side by side during a deploy). */
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: ApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:ApiService", name, {}, opts);
    // keepLocally: a rollback to the previous version starts without a pull.
    const image = new docker.RemoteImage(`${name}-image`, { name: `${args.image}:${args.version}`, keepLocally: true }, { parent: this });
    const imageRef = image.repoDigest.apply((digest) => digest || `${args.image}:${args.version}`);
    const envs = pulumi.all(args.env).apply((env) =>
      Object.keys(env)
        .sort()
        .map((key) => `${key}=${env[key]}`),
    );
    const url = `http://127.0.0.1:${args.port}${args.healthPath}`;

    const container = new docker.Container(
      name,
      {
        image: imageRef,
        envs,
        labels: pulumi.output(args.proxyNetwork).apply((network) => toLabels(traefikLabels({ ...args, network }))),
        mounts: [
          { type: "bind", source: args.uploadsHostPath, target: args.uploadsDir },
          { type: "bind", source: args.logsHostPath, target: args.logsDir },
        ],
        networksAdvanced: [{ name: args.proxyNetwork }, { name: args.dbNetwork }],
        healthcheck: {
          tests: ["CMD-SHELL", `wget -q -O /dev/null ${url} || curl -fsS -o /dev/null ${url} || exit 1`],
          interval: "10s",
          timeout: "5s",
          retries: 3,
          startPeriod: "20s",
        },
        memory: args.memoryMb,
        // `pulumi up` waits for healthy before the old container is removed; Traefik routes only to healthy ones.
        wait: true,
        waitTimeout: 180,
        // The old container gets 30 s after SIGTERM to finish in-flight requests.
        destroyGraceSeconds: 30,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      // No fixed name and no host port, so the new version can start beside the old one.
      // additionalSecretOutputs: the env holds credentials, so its read-back state is encrypted too.
      { parent: this, deleteBeforeReplace: false, dependsOn: args.dependsOn, additionalSecretOutputs: ["envs"] },
    );

    this.imageRef = imageRef;
    this.url = pulumi.output(`https://${args.host}`);
    this.containerName = container.name;
    this.registerOutputs({ imageRef: this.imageRef, url: this.url, containerName: this.containerName });
  }
}

import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { HARDENING, LOG_ROTATION, toLabels } from "./containerDefaults";
import { ENTRYPOINT_WEBSECURE, TRAEFIK_PATHS, TraefikTls, traefikDynamicFiles, traefikStaticConfig } from "./traefikConfig";

export interface TraefikArgs {
  /** Pinned Traefik image, e.g. traefik:v3.3.5. */
  image: string;
  /** Name of the Docker network Traefik creates and shares with every routed container. */
  network: string;
  /** Certificates: mkcert files (dev) or Let's Encrypt ACME (prod). */
  tls: TraefikTls;
  /** Requests per second per client on the API routers, and the burst above it. */
  rateLimit: { average: number; burst: number };
  /** Memory limit of the container. */
  memoryMb: number;
  /** Changes whenever the mounted certificate files change, so Traefik restarts and loads them (mkcert). */
  certificateFingerprint?: pulumi.Input<string>;
  /** The dashboard's host and basic-auth password (a secret); absent keeps the dashboard off. */
  dashboard?: { host: string; user: string; password: pulumi.Input<string> };
}

/** The reverse proxy: ports 80/443, HTTP redirected to HTTPS, routes from Docker labels. */
export class Traefik extends pulumi.ComponentResource {
  /** Name of the proxy network the API containers join. */
  public readonly networkName: pulumi.Output<string>;
  /** The running container's name (`docker logs traefik`). */
  public readonly containerName: pulumi.Output<string>;
  /** The traefik.yml the container runs with. */
  public readonly staticConfig: pulumi.Output<string>;

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Traefik", name, {}, opts);
    const configArgs = { tls: args.tls, network: args.network, dashboard: !!args.dashboard, rateLimit: args.rateLimit };
    const staticYaml = YAML.stringify(traefikStaticConfig(configArgs));
    const dynamicFiles = Object.entries(traefikDynamicFiles(configArgs)).map(([file, config]) => ({
      file: `${TRAEFIK_PATHS.dynamicDir}/${file}`,
      content: YAML.stringify(config),
    }));

    const network = new docker.Network(`${name}-network`, { name: args.network, driver: "bridge" }, { parent: this });
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });

    const tlsMount: docker.types.input.ContainerMount =
      args.tls.mode === "mkcert"
        ? { type: "bind", source: args.tls.certsDir, target: TRAEFIK_PATHS.certsDir, readOnly: true }
        : { type: "bind", source: args.tls.storageDir, target: TRAEFIK_PATHS.acmeDir };

    const container = new docker.Container(
      name,
      {
        name: "traefik",
        image: image.repoDigest.apply((digest) => digest || args.image),
        ports: [
          { internal: 80, external: 80 },
          { internal: 443, external: 443 },
        ],
        mounts: [{ type: "bind", source: TRAEFIK_PATHS.dockerSocket, target: TRAEFIK_PATHS.dockerSocket, readOnly: true }, tlsMount],
        uploads: [{ file: TRAEFIK_PATHS.staticConfig, content: staticYaml }, ...dynamicFiles],
        networksAdvanced: [{ name: network.name }],
        healthcheck: { tests: ["CMD", "traefik", "healthcheck", "--ping"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "5s" },
        labels: pulumi
          .all([args.dashboard ? dashboardLabels(args.dashboard) : [], args.certificateFingerprint ?? ""])
          .apply(([labels, fingerprint]) => (fingerprint ? [...labels, { label: "ems-infra.certificate", value: fingerprint }] : labels)),
        memory: args.memoryMb,
        wait: true,
        waitTimeout: 60,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      // Two Traefiks cannot both hold ports 80/443: the old one goes first (a few seconds without proxy).
      { parent: this, deleteBeforeReplace: true },
    );

    this.networkName = network.name;
    this.containerName = container.name;
    this.staticConfig = pulumi.output(staticYaml);
    this.registerOutputs({ networkName: this.networkName, containerName: this.containerName, staticConfig: this.staticConfig });
  }
}

function dashboardLabels(dashboard: NonNullable<TraefikArgs["dashboard"]>) {
  // Traefik's basic auth takes htpasswd entries; {SHA} is the one computable without a native module.
  const users = pulumi
    .output(dashboard.password)
    .apply((password) => `${dashboard.user}:{SHA}${crypto.createHash("sha1").update(password).digest("base64")}`);
  return pulumi.secret(users).apply((entry) =>
    toLabels({
      "traefik.enable": "true",
      "traefik.http.routers.dashboard.rule": `Host(\`${dashboard.host}\`)`,
      "traefik.http.routers.dashboard.entrypoints": ENTRYPOINT_WEBSECURE,
      "traefik.http.routers.dashboard.tls": "true",
      "traefik.http.routers.dashboard.service": "api@internal",
      "traefik.http.routers.dashboard.middlewares": "dashboard-auth",
      "traefik.http.middlewares.dashboard-auth.basicauth.users": entry,
    }),
  );
}

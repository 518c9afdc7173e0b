import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, memoryLimit, toLabels } from "./containerDefaults";
import type { EngineCapabilities } from "./engine";
import { HostConnection, hostCommand } from "./hostCommand";
import { HostFile, writeFilesScript } from "./shell";
import {
  TRAEFIK_PATHS,
  TraefikConfigArgs,
  TraefikTls,
  traefikDynamicFiles,
  traefikStaticConfig,
} from "./traefikConfig";
import { dashboardDynamicConfig, TraefikDashboard } from "./traefikDashboard";

export interface TraefikArgs {
  /** Pinned Traefik image (v3.6.1 or later: older ones cannot talk to Docker Engine 29). */
  image: string;
  /** Fixed container name. */
  containerName: string;
  /** Name of the Docker network shared with every routed container. */
  network: string;
  /** true: the network exists on the host already (shared with other systems) and is only joined. */
  externalNetwork: boolean;
  /** Certificates: mkcert files (dev) or Let's Encrypt ACME (prod). */
  tls: TraefikTls;
  /** Requests per second per client on the API routers, and the burst above it. */
  rateLimit: { average: number; burst: number };
  /** Memory limit of the container. */
  memoryMb: number;
  /** What the Docker engine can do (`ems-infra:engine`); default: a current engine. */
  engine?: EngineCapabilities;
  /** Host folder of the dynamic configuration, bind-mounted read-only and watched by Traefik. */
  dynamicDir: string;
  /** Host addresses 80/443 are published on (e.g. `127.0.0.1` and `::1` on a laptop, `0.0.0.0` and `::` on the VPS). */
  listen: string[];
  /** The Engine API Traefik's docker provider reads: the socket proxy's `tcp://<name>:2375` (no socket mount). */
  dockerEndpoint: string;
  /** The systems (`com.ems.system` label values) whose containers Traefik routes; any other container is ignored. */
  systems: string[];
  /** Networks Traefik joins besides its own: the socket proxy's. */
  extraNetworks?: pulumi.Input<string>[];
  /** Name of a network made for Traefik and the admin tools (Portainer) only, away from the APIs; absent: none. */
  adminNetwork?: string;
  /** Labels that say what the container is. */
  identity: Record<string, string>;
  /** Changes whenever the mounted certificate files change, so Traefik reloads them (mkcert). */
  certificateFingerprint?: pulumi.Input<string>;
  /** The dashboard's router; absent keeps the dashboard off. */
  dashboard?: TraefikDashboard;
  /** SSH connection to the host the dynamic files are written on; absent is this machine. */
  connection?: HostConnection;
}

/** 80 and 443 on each listen address (`0.0.0.0` alone binds no IPv6 address, `127.0.0.1` only the machine itself). */
function traefikPorts(listen: string[]): docker.types.input.ContainerPort[] {
  return [80, 443].flatMap((port) => listen.map((ip) => ({ internal: port, external: port, ip })));
}

/**
 * The dynamic configuration folder's files, written on the host, not uploaded: a change (rate limit, TLS
 * options, the dashboard's password) is reloaded by the file provider without restarting Traefik (uploads would
 * force a replacement). Shared by the container (Traefik) and the Swarm service (SwarmTraefik).
 */
export function writeDynamicFiles(
  name: string,
  configArgs: TraefikConfigArgs,
  args: Pick<TraefikArgs, "certificateFingerprint" | "dashboard" | "dynamicDir" | "connection">,
  parent: pulumi.Resource,
): { files: pulumi.Output<HostFile[]>; writer: pulumi.Resource } {
  const files = pulumi
    .all([args.certificateFingerprint ?? "", args.dashboard ? dashboardDynamicConfig(args.dashboard) : undefined])
    .apply(([fingerprint, dashboard]): HostFile[] => [
      ...Object.entries(traefikDynamicFiles(configArgs)).map(([file, config]) => ({
        name: file,
        // A new mkcert certificate changes tls.yml, so Traefik reloads the certificate files too.
        content: `${fingerprint ? `# certificate fingerprint ${fingerprint}\n` : ""}${YAML.stringify(config)}`,
        mode: "644",
      })),
      ...(dashboard ? [{ name: "dashboard.yml", content: YAML.stringify(dashboard), mode: "600" }] : []),
    ]);
  const writer = hostCommand(
    `${name}-dynamic-config`,
    { create: "sh -s", stdin: pulumi.secret(files.apply((f) => writeFilesScript(args.dynamicDir, f))) },
    args.connection,
    { parent, additionalSecretOutputs: ["stdin"] },
  );
  return { files, writer };
}

/** The reverse proxy: ports 80/443, HTTP redirected to HTTPS, routes from Docker labels and watched files. */
export class Traefik extends pulumi.ComponentResource {
  /** Name of the proxy network the API containers join. */
  public readonly networkName: pulumi.Output<string>;
  /** The running container's name. */
  public readonly containerName: pulumi.Output<string>;
  /** The admin network (Traefik and Portainer only), when asked for. */
  public readonly adminNetworkName?: pulumi.Output<string>;
  /** The traefik.yml the container runs with. */
  public readonly staticConfig: pulumi.Output<string>;
  /** The files of the dynamic configuration folder, by name. */
  public readonly dynamicFiles: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Traefik", name, {}, opts);
    const configArgs = {
      tls: args.tls,
      network: args.network,
      dashboard: !!args.dashboard,
      rateLimit: args.rateLimit,
      dockerEndpoint: args.dockerEndpoint,
      systems: args.systems,
    };
    const staticYaml = YAML.stringify(traefikStaticConfig(configArgs));

    const { files, writer } = writeDynamicFiles(name, configArgs, args, this);

    const networkName = args.externalNetwork
      ? pulumi.output(args.network)
      : new docker.Network(`${name}-network`, { name: args.network, driver: "bridge" }, { parent: this }).name;
    const adminNetwork =
      args.adminNetwork === undefined
        ? undefined
        : new docker.Network(`${name}-admin-network`, { name: args.adminNetwork, driver: "bridge" }, { parent: this })
            .name;
    const extraNetworks = [...(args.extraNetworks ?? []), ...(adminNetwork ? [adminNetwork] : [])];
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });

    const tlsMount: docker.types.input.ContainerMount =
      args.tls.mode === "mkcert"
        ? { type: "bind", source: args.tls.certsDir, target: TRAEFIK_PATHS.certsDir, readOnly: true }
        : { type: "bind", source: args.tls.storageDir, target: TRAEFIK_PATHS.acmeDir };

    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest.apply((digest) => digest || args.image),
        ports: traefikPorts(args.listen),
        mounts: [{ type: "bind", source: args.dynamicDir, target: TRAEFIK_PATHS.dynamicDir, readOnly: true }, tlsMount],
        uploads: [{ file: TRAEFIK_PATHS.staticConfig, content: staticYaml }],
        networksAdvanced: [{ name: networkName }, ...extraNetworks.map((n) => ({ name: n }))],
        healthcheck: {
          tests: ["CMD", "traefik", "healthcheck", "--ping"],
          interval: "10s",
          timeout: "5s",
          retries: 3,
          startPeriod: "5s",
        },
        labels: toLabels(args.identity),
        ...memoryLimit(args.memoryMb, args.engine),
        wait: true,
        waitTimeout: 60,
        // Its entrypoints finish in-flight requests for up to 10 s (Traefik's default graceTimeOut).
        destroyGraceSeconds: 15,
        stopTimeout: 15,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      {
        parent: this,
        // Two Traefiks cannot both hold ports 80/443: the old one goes first (a few seconds without proxy).
        deleteBeforeReplace: true,
        replaceOnChanges: ["healthcheck"],
        // Docker 20.10 reads a port's IPv4 and IPv6 bindings back in reverse order, which would replace Traefik
        // on every run; 80/443 never change (a new `listen` setting applies when Traefik is next replaced).
        ignoreChanges: [...READ_BACK_IGNORED, "ports"],
        dependsOn: [writer],
      },
    );

    this.networkName = networkName;
    this.containerName = container.name;
    this.adminNetworkName = adminNetwork;
    this.staticConfig = pulumi.output(staticYaml);
    this.dynamicFiles = pulumi.secret(files.apply((f) => Object.fromEntries(f.map((x) => [x.name, x.content]))));
    this.registerOutputs({
      networkName: this.networkName,
      containerName: this.containerName,
      staticConfig: this.staticConfig,
    });
  }
}

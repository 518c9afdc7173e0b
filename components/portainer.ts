import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, dataVolume, memoryLimit, toLabels } from "./containerDefaults";
import type { EngineCapabilities } from "./engine";
import { EMS_RUN_PATH, emsRunBase64 } from "./probe";
import { TRAEFIK_PATHS, ENTRYPOINT_WEBSECURE } from "./traefikConfig";

export interface PortainerArgs {
  /** Pinned image, e.g. portainer/portainer-ce:2.27.3 (never `latest`). */
  image: string;
  /** Fixed container name. */
  containerName: string;
  /** Data volume; an existing one (compose's `infra_portainer_data`) is adopted with its settings and users. */
  volumeName: string;
  /** Public host name, e.g. portainer.edumigsoft.com.br. */
  host: string;
  /** Traefik's network. */
  proxyNetwork: pulumi.Input<string>;
  /** Certificate resolver of the router, absent for files (mkcert). */
  certResolver?: string;
  /** Labels that say what the container is. */
  identity: Record<string, string>;
  /** Memory limit of the container. */
  memoryMb: number;
  /** What the Docker engine can do (`ems-infra:engine`); default: a current engine. */
  engine?: EngineCapabilities;
  /** Protect the data volume from `pulumi destroy` (prod). */
  protectData?: boolean;
}

/** Portainer's HTTP port, the one Traefik routes to. */
export const PORTAINER_PORT = 9000;
/** Portainer's public status route (no login needed). */
export const PORTAINER_STATUS_PATH = "/api/system/status";

/** Portainer, as it runs today: the Docker socket read-only, its data on a volume, routed over HTTPS by Traefik. */
export class Portainer extends pulumi.ComponentResource {
  /** The public URL. */
  public readonly url: pulumi.Output<string>;
  /** The container's name. */
  public readonly containerName: pulumi.Output<string>;
  /** The data volume's name. */
  public readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: PortainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Portainer", name, {}, opts);
    const volume = dataVolume(`${name}-data`, args.volumeName, args.protectData, this);
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
    const router = `traefik.http.routers.${name}`;
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest.apply((digest) => digest || args.image),
        mounts: [
          { type: "bind", source: TRAEFIK_PATHS.dockerSocket, target: TRAEFIK_PATHS.dockerSocket, readOnly: true },
          { type: "volume", source: volume.name, target: "/data" },
        ],
        networksAdvanced: [{ name: args.proxyNetwork }],
        // The image has no shell or HTTP client either: the same static probe as the APIs, without a key.
        uploads: [{ file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true }],
        healthcheck: {
          tests: ["CMD", EMS_RUN_PATH, "--probe", String(PORTAINER_PORT), PORTAINER_STATUS_PATH, "--no-key"],
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "1m0s",
        },
        wait: true,
        waitTimeout: 120,
        labels: pulumi.output(args.proxyNetwork).apply((network) =>
          toLabels({
            "traefik.enable": "true",
            "traefik.docker.network": network,
            [`${router}.rule`]: `Host(\`${args.host}\`)`,
            [`${router}.entrypoints`]: ENTRYPOINT_WEBSECURE,
            [`${router}.tls`]: "true",
            ...(args.certResolver ? { [`${router}.tls.certresolver`]: args.certResolver } : {}),
            [`${router}.service`]: name,
            [`traefik.http.services.${name}.loadbalancer.server.port`]: String(PORTAINER_PORT),
            ...args.identity,
          }),
        ),
        ...memoryLimit(args.memoryMb, args.engine),
        destroyGraceSeconds: 10,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      // One Portainer per data volume (it locks its database): the old one stops first.
      { parent: this, deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"], ignoreChanges: READ_BACK_IGNORED },
    );

    this.url = pulumi.output(`https://${args.host}`);
    this.containerName = container.name;
    this.volumeName = volume.name;
    this.registerOutputs({ url: this.url, containerName: this.containerName, volumeName: this.volumeName });
  }
}

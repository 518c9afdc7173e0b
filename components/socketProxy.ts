import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, memoryLimit, toLabels } from "./containerDefaults";
import type { EngineCapabilities } from "./engine";
import { EMS_RUN_PATH, emsRunBase64 } from "./probe";
import {
  DOCKER_SOCKET,
  SOCKET_PROXY_CONFIG_PATH,
  SOCKET_PROXY_PORT,
  TRAEFIK_DOCKER_ENDPOINTS,
  socketProxyHaproxyConfig,
} from "./socketProxyConfig";

export interface SocketProxyArgs {
  /** Pinned official haproxy image, e.g. haproxy:3.0.5 (never `latest`). */
  image: string;
  /** Fixed container name: Traefik's docker endpoint is `tcp://<containerName>:2375`. */
  containerName: string;
  /** Name of the internal network the proxy shares with Traefik only (no other container, no way out). */
  networkName: string;
  /** Labels that say what the container is. */
  identity: Record<string, string>;
  /** What the Docker engine can do (`ems-infra:engine`); default: a current engine. */
  engine?: EngineCapabilities;
}

/**
 * The one container (with Portainer) that touches the Docker socket: haproxy answering only the read-only
 * calls Traefik's docker provider makes (socketProxyConfig.ts), on an internal network of its own.
 */
export class SocketProxy extends pulumi.ComponentResource {
  /** The internal network Traefik joins to reach the proxy. */
  public readonly networkName: pulumi.Output<string>;
  /** Traefik's docker endpoint, `tcp://<container>:2375`. */
  public readonly endpoint: pulumi.Output<string>;
  /** The container's name. */
  public readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: SocketProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:SocketProxy", name, {}, opts);
    const network = new docker.Network(
      `${name}-network`,
      { name: args.networkName, driver: "bridge", internal: true },
      { parent: this },
    );
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest.apply((digest) => digest || args.image),
        // The image's entrypoint adds -W -db (foreground); root only to open the root-owned socket, with no
        // capability at all (the socket's owner needs none).
        command: ["haproxy", "-f", SOCKET_PROXY_CONFIG_PATH],
        user: "0:0",
        capabilities: { drops: ["ALL"] },
        mounts: [{ type: "bind", source: DOCKER_SOCKET, target: DOCKER_SOCKET, readOnly: true }],
        uploads: [
          { file: SOCKET_PROXY_CONFIG_PATH, content: socketProxyHaproxyConfig(TRAEFIK_DOCKER_ENDPOINTS) },
          { file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true },
        ],
        networksAdvanced: [{ name: network.name }],
        healthcheck: {
          tests: ["CMD", EMS_RUN_PATH, "--probe", String(SOCKET_PROXY_PORT), "/_ping", "--no-key"],
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "10s",
        },
        wait: true,
        waitTimeout: 60,
        labels: toLabels(args.identity),
        ...memoryLimit(64, args.engine),
        destroyGraceSeconds: 5,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      { parent: this, deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"], ignoreChanges: READ_BACK_IGNORED },
    );
    this.networkName = network.name;
    this.containerName = container.name;
    this.endpoint = pulumi.interpolate`tcp://${container.name}:${SOCKET_PROXY_PORT}`;
    this.registerOutputs({ networkName: this.networkName, endpoint: this.endpoint, containerName: this.containerName });
  }
}

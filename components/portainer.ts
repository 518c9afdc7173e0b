import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HARDENING, LOG_ROTATION, READ_BACK_IGNORED, dataVolume, memoryLimit, toLabels } from "./containerDefaults";
import type { EngineCapabilities } from "./engine";
import { EMS_RUN_PATH, SECRET_FILE_MODE, emsRunBase64 } from "./probe";
import { DOCKER_SOCKET } from "./socketProxyConfig";
import { ADMIN_MIDDLEWARES, ENTRYPOINT_WEBSECURE } from "./traefikConfig";

export interface PortainerArgs {
  /** Pinned image, e.g. portainer/portainer-ce:2.27.3 (never `latest`). */
  image: string;
  /** Fixed container name. */
  containerName: string;
  /** Data volume; an existing one (compose's `infra_portainer_data`) is adopted with its settings and users. */
  volumeName: string;
  /** Host name of its router, e.g. portainer.edumigsoft.com.br (only used when `public`). */
  host: string;
  /** Portainer's own network, shared with Traefik only (never the APIs' network). */
  network: pulumi.Input<string>;
  /** The admin's password (a secret): set when the data volume has no admin yet, so no instance waits for one. */
  adminPassword: pulumi.Input<string>;
  /**
   * Routed by Traefik at `host`, from these client addresses only (CIDRs; empty: any). Absent: no router at all,
   * Portainer answers on the host's loopback `tunnelPort` only (an SSH tunnel).
   */
  public?: { allowFrom: string[] };
  /** Host port on 127.0.0.1 Portainer is published on when it is not public (the SSH tunnel's end). */
  tunnelPort: number;
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
/** Where the admin's password file is uploaded (`--admin-password-file`): never in the command line or env. */
export const PORTAINER_ADMIN_PASSWORD_PATH = "/run/ems/portainer-admin-password";

/** The Traefik labels of a public Portainer: its router, its allow-list, the admin middlewares. */
function portainerRouterLabels(
  name: string,
  args: Pick<PortainerArgs, "host" | "certResolver"> & { allowFrom: string[] },
  network: string,
): Record<string, string> {
  const router = `traefik.http.routers.${name}`;
  const allowList = `${name}-allowlist`;
  return {
    "traefik.enable": "true",
    "traefik.docker.network": network,
    [`${router}.rule`]: `Host(\`${args.host}\`)`,
    [`${router}.entrypoints`]: ENTRYPOINT_WEBSECURE,
    [`${router}.tls`]: "true",
    ...(args.certResolver ? { [`${router}.tls.certresolver`]: args.certResolver } : {}),
    [`${router}.service`]: name,
    [`${router}.middlewares`]: [...(args.allowFrom.length > 0 ? [allowList] : []), ...ADMIN_MIDDLEWARES].join(","),
    ...(args.allowFrom.length > 0
      ? { [`traefik.http.middlewares.${allowList}.ipallowlist.sourcerange`]: args.allowFrom.join(",") }
      : {}),
    [`traefik.http.services.${name}.loadbalancer.server.port`]: String(PORTAINER_PORT),
  };
}

/**
 * Portainer: it administers Docker, so it holds the socket (the one exception beside the socket proxy). Its admin
 * is set at creation from a secret file; it is routed by Traefik only when `public` (behind an allow-list),
 * otherwise it answers on the host's loopback only, for an SSH tunnel.
 */
export class Portainer extends pulumi.ComponentResource {
  /** Where the operator opens it: the public URL, or the local end of the SSH tunnel. */
  public readonly url: pulumi.Output<string>;
  /** The container's name. */
  public readonly containerName: pulumi.Output<string>;
  /** The data volume's name. */
  public readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: PortainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Portainer", name, {}, opts);
    const volume = dataVolume(`${name}-data`, args.volumeName, args.protectData, this);
    const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest.apply((digest) => digest || args.image),
        command: ["--admin-password-file", PORTAINER_ADMIN_PASSWORD_PATH],
        mounts: [
          { type: "bind", source: DOCKER_SOCKET, target: DOCKER_SOCKET, readOnly: true },
          { type: "volume", source: volume.name, target: "/data" },
        ],
        networksAdvanced: [{ name: args.network }],
        ...(args.public
          ? {}
          : { ports: [{ internal: PORTAINER_PORT, external: args.tunnelPort, ip: "127.0.0.1", protocol: "tcp" }] }),
        uploads: [
          // The image has no shell or HTTP client either: the same static probe as the APIs, without a key.
          { file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true },
          {
            file: PORTAINER_ADMIN_PASSWORD_PATH,
            content: pulumi.secret(args.adminPassword),
            permissions: SECRET_FILE_MODE,
          },
        ],
        healthcheck: {
          tests: ["CMD", EMS_RUN_PATH, "--probe", String(PORTAINER_PORT), PORTAINER_STATUS_PATH, "--no-key"],
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "1m0s",
        },
        wait: true,
        waitTimeout: 120,
        labels: pulumi.output(args.network).apply((network) =>
          toLabels({
            ...(args.public
              ? portainerRouterLabels(name, { ...args, allowFrom: args.public.allowFrom }, network)
              : { "traefik.enable": "false" }),
            ...args.identity,
          }),
        ),
        ...memoryLimit(args.memoryMb, args.engine),
        destroyGraceSeconds: 10,
        ...LOG_ROTATION,
        ...HARDENING,
      },
      // One Portainer per data volume (it locks its database): the old one stops first.
      {
        parent: this,
        deleteBeforeReplace: true,
        replaceOnChanges: ["healthcheck"],
        ignoreChanges: READ_BACK_IGNORED,
        // The admin's password file is uploaded: the uploads are kept as a secret in the state too.
        additionalSecretOutputs: ["uploads"],
      },
    );

    this.url = pulumi.output(args.public ? `https://${args.host}` : `http://localhost:${args.tunnelPort}`);
    this.containerName = container.name;
    this.volumeName = volume.name;
    this.registerOutputs({ url: this.url, containerName: this.containerName, volumeName: this.volumeName });
  }
}

// Hand-built resources for the policy tests: a compliant EMS-like deployment to start from.
import type { PolicyResource as RecordedResource } from "../support";
import { Secret } from "../../policy/lib";

import { T } from "../support";
import { SOCKET_PROXY_CONFIG_PATH, socketProxyHaproxyConfig } from "../../components/socketProxyConfig";

const CONTAINER: string = T.container;
export const REMOTE_IMAGE: string = T.image;
export const VOLUME: string = T.volume;
export const LOCAL_COMMAND: string = T.localCommand;
export const REMOTE_COMMAND: string = T.remoteCommand;

export const DIGEST = "sha256:" + "ab".repeat(32);

/** Everything container-hardening asks for. */
export function hardening(memoryMb = 256): Record<string, unknown> {
  return {
    restart: "unless-stopped",
    healthcheck: {
      tests: ["CMD-SHELL", "wget -qO- http://localhost:8080/health || exit 1"],
      interval: "10s",
      retries: 3,
    },
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
    securityOpts: ["no-new-privileges:true"],
    memory: memoryMb,
  };
}

export function labels(map: Record<string, string>): Array<{ label: string; value: string }> {
  return Object.entries(map).map(([label, value]) => ({ label, value }));
}

export function traefik(overrides: Record<string, unknown> = {}): RecordedResource {
  return {
    type: CONTAINER,
    name: "traefik",
    props: {
      image: "traefik:v3.3.5",
      ...hardening(),
      ports: [
        { internal: 80, external: 80 },
        { internal: 443, external: 443 },
      ],
      labels: labels({
        "traefik.enable": "true",
        "traefik.http.routers.dashboard.rule": "Host(`traefik.ems.localhost`)",
        "traefik.http.routers.dashboard.entrypoints": "websecure",
        "traefik.http.routers.dashboard.tls": "true",
        "traefik.http.routers.dashboard.service": "api@internal",
      }),
      ...overrides,
    },
  };
}

/** The socket proxy as the program makes it: haproxy with the generated read-only allow-list. */
export function socketProxy(overrides: Record<string, unknown> = {}): RecordedResource {
  return {
    type: CONTAINER,
    name: "socket-proxy",
    props: {
      image: "haproxy:3.0.5",
      ...hardening(64),
      mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
      uploads: [{ file: SOCKET_PROXY_CONFIG_PATH, content: socketProxyHaproxyConfig() }],
      ...overrides,
    },
  };
}

export function api(overrides: Record<string, unknown> = {}, additionalSecretOutputs = ["envs"]): RecordedResource {
  return {
    type: CONTAINER,
    name: "ems-api",
    props: {
      image: `ghcr.io/edumigsoft/ems@${DIGEST}`,
      ...hardening(512),
      envs: ["PORT=8080", new Secret("DATABASE_PASSWORD=s3cr3t"), new Secret("JWT_SECRET=abc")],
      labels: labels({
        "traefik.enable": "true",
        "traefik.http.routers.ems.rule": "Host(`api.ems.localhost`)",
        "traefik.http.routers.ems.entrypoints": "websecure",
        "traefik.http.routers.ems.tls": "true",
        "traefik.http.services.ems.loadbalancer.server.port": "8080",
      }),
      ...overrides,
    },
    opts: { additionalSecretOutputs },
  };
}

export function postgres(overrides: Record<string, unknown> = {}): RecordedResource {
  return {
    type: CONTAINER,
    name: "postgres",
    props: {
      image: "postgres:16.6",
      ...hardening(1024),
      envs: ["POSTGRES_USER=ems", new Secret("POSTGRES_PASSWORD=s3cr3t")],
      volumes: [{ volumeName: "ems-pgdata", containerPath: "/var/lib/postgresql/data" }],
      ...overrides,
    },
    opts: { additionalSecretOutputs: ["envs"] },
  };
}

export function pgVolume(opts: RecordedResource["opts"] = { protect: true, retainOnDelete: true }): RecordedResource {
  return { type: VOLUME, name: "ems-pgdata", props: { name: "ems_system_pgdata" }, opts };
}

export function container(
  name: string,
  props: Record<string, unknown>,
  opts?: RecordedResource["opts"],
): RecordedResource {
  return { type: CONTAINER, name, props: { ...hardening(), ...props }, opts };
}

import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { isPortainerImage, isTraefikImage, reveal, revealArray } from "../lib";

const DOCKER_SOCKETS = new Set(["/var/run/docker.sock", "/run/docker.sock"]);

export const SOCKET_NOT_TRAEFIK_MESSAGE = "Only the Traefik and Portainer containers may mount the Docker socket.";
export const SOCKET_WRITABLE_MESSAGE = "The Docker socket must be mounted read-only.";

/**
 * 4. docker-socket-readonly: a `volumes` entry (`hostPath`) or a `mounts` entry (`source`) naming
 * /var/run/docker.sock (or /run/docker.sock) is `readOnly: true` and sits on the Traefik or the Portainer
 * container (Portainer manages the host's Docker, read-only as today's VPS runs it).
 */
export const dockerSocketReadonly: ResourceValidationPolicy = {
  name: "docker-socket-readonly",
  description: "The Docker socket is mounted read-only, and only into the Traefik and Portainer containers.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(docker.Container, (c, _args, reportViolation) => {
    const socketMounts = [
      ...revealArray(c.volumes).map((v) => ({ source: v?.hostPath, readOnly: v?.readOnly })),
      ...revealArray(c.mounts).map((m) => ({ source: m?.source, readOnly: m?.readOnly })),
    ].filter((m) => typeof m.source === "string" && DOCKER_SOCKETS.has(m.source.replace(/\/+$/, "")));
    if (socketMounts.length === 0) return;
    const image = reveal(c.image);
    if (!isTraefikImage(image) && !isPortainerImage(image)) reportViolation(SOCKET_NOT_TRAEFIK_MESSAGE);
    if (socketMounts.some((m) => m.readOnly !== true)) reportViolation(SOCKET_WRITABLE_MESSAGE);
  }),
};

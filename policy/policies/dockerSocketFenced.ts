import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { readHaproxyAllowRules, SOCKET_PROXY_CONFIG_PATH } from "../../components/socketProxyConfig";
import { isHaproxyImage, isPortainerImage, reveal, revealArray } from "../lib";

const DOCKER_SOCKETS = new Set(["/var/run/docker.sock", "/run/docker.sock"]);
/** Methods that change nothing on the engine. */
const READ_ONLY_METHODS = new Set(["GET", "HEAD"]);

const SOCKET_HOLDER_MESSAGE =
  "Only the socket proxy (official haproxy image) and Portainer may mount the Docker socket: whoever talks to it is root on the host, read-only mount or not.";
const PROXY_CONFIG_MISSING_MESSAGE = `The socket proxy must run the generated allow-list (an upload at ${SOCKET_PROXY_CONFIG_PATH}).`;

function proxyMethodMessage(method: string): string {
  return `The socket proxy lets ${method} through: it must allow read-only methods (GET, HEAD) only.`;
}

/**
 * 4. docker-socket-fenced: a `volumes` entry (`hostPath`) or a `mounts` entry (`source`) naming
 * /var/run/docker.sock (or /run/docker.sock) sits only on the socket proxy or on Portainer (it administers
 * Docker: fenced by its admin password and its missing router, see the README). A `:ro` mount is no control:
 * the socket accepts every API call either way. The proxy's uploaded haproxy configuration must allow no method
 * but GET and HEAD, and deny everything it does not allow.
 */
export const dockerSocketFenced: ResourceValidationPolicy = {
  name: "docker-socket-fenced",
  description: "Only the read-only socket proxy and Portainer mount the Docker socket.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(docker.Container, (c, _args, reportViolation) => {
    const mountsSocket = [
      ...revealArray(c.volumes).map((v) => v?.hostPath),
      ...revealArray(c.mounts).map((m) => m?.source),
    ].some((source) => typeof source === "string" && DOCKER_SOCKETS.has(source.replace(/\/+$/, "")));
    if (!mountsSocket) return;
    const image = reveal(c.image);
    if (isPortainerImage(image)) return;
    const config = revealArray(c.uploads).find((u) => u?.file === SOCKET_PROXY_CONFIG_PATH)?.content;
    // The image is unknown during a first preview (RemoteImage.repoDigest): the uploaded allow-list tells.
    if (!isHaproxyImage(image) && (image !== undefined || config === undefined)) {
      reportViolation(SOCKET_HOLDER_MESSAGE);
      return;
    }
    if (typeof config !== "string") {
      reportViolation(PROXY_CONFIG_MISSING_MESSAGE);
      return;
    }
    const rules = readHaproxyAllowRules(config);
    for (const method of rules.methods) if (!READ_ONLY_METHODS.has(method)) reportViolation(proxyMethodMessage(method));
    for (const problem of rules.problems) reportViolation(`The socket proxy's configuration: ${problem}.`);
  }),
};

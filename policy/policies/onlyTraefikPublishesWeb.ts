import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { isTraefikImage, reveal, revealArray } from "../lib";

const WEB_PORTS = new Set([80, 443]);

function webPortMessage(port: number): string {
  return `Only the Traefik container may publish host port ${port}.`;
}

/**
 * 3. only-traefik-publishes-web: no container other than Traefik (official `traefik` image, by tag or
 * digest) has a `ports` entry whose `external` (host) port is 80 or 443.
 */
export const onlyTraefikPublishesWeb: ResourceValidationPolicy = {
  name: "only-traefik-publishes-web",
  description: "Only the Traefik container publishes host ports 80 and 443.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(docker.Container, (c, _args, reportViolation) => {
    const published = revealArray(c.ports)
      .map((p) => Number(p?.external))
      .filter((port) => WEB_PORTS.has(port));
    // Ports first: the image (often RemoteImage.repoDigest) is unknown during a first preview.
    if (published.length === 0 || isTraefikImage(reveal(c.image))) return;
    for (const port of published) reportViolation(webPortMessage(port));
  }),
};

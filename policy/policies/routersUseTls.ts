import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { labelMap } from "../lib";

const ROUTER_LABEL = /^traefik\.http\.routers\.([^.]+)\.(.+)$/i;

function entrypointMessage(router: string): string {
  return `Traefik router "${router}" must use only the websecure entrypoint.`;
}
function tlsMessage(router: string): string {
  return `Traefik router "${router}" must set tls=true.`;
}

/**
 * 5. routers-use-tls: for every HTTP router named in a container's labels
 * (`traefik.http.routers.<r>.*`, keys compared case-insensitively as Traefik does), the label
 * `traefik.http.routers.<r>.entrypoints` is exactly `websecure` (a missing one means "all entrypoints",
 * port 80 included) and `traefik.http.routers.<r>.tls` is `true`.
 */
export const routersUseTls: ResourceValidationPolicy = {
  name: "routers-use-tls",
  description: "Every Traefik HTTP router declared by labels listens on websecure only, with TLS.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(docker.Container, (c, _args, reportViolation) => {
    const routers = new Map<string, Map<string, string>>();
    for (const [key, value] of labelMap(c.labels)) {
      const m = ROUTER_LABEL.exec(key);
      if (!m) continue;
      const name = m[1];
      const props = routers.get(name) ?? new Map<string, string>();
      props.set(m[2].toLowerCase(), value.trim());
      routers.set(name, props);
    }
    for (const [name, props] of routers) {
      if (props.get("entrypoints") !== "websecure") reportViolation(entrypointMessage(name));
      if (props.get("tls")?.toLowerCase() !== "true") reportViolation(tlsMessage(name));
    }
  }),
};

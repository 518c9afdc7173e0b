import { LocalCertificates } from "../components/localCertificates";
import { StackConfig } from "./config";
import { SystemOutputs, deploySystem } from "./system";

/** Every host name the dev stack routes: the APIs, the dashboard and Portainer when they are on. */
export function routedHosts(cfg: StackConfig): string[] {
  return [
    ...cfg.services.map((s) => s.host),
    ...(cfg.traefik.dashboard.enabled ? [cfg.traefik.dashboard.host] : []),
    ...(cfg.portainer.enabled ? [cfg.portainer.host] : []),
  ];
}

/** The laptop: .local domains, mkcert certificates, .dev-data folders, nothing protected. */
export function devStack(cfg: StackConfig): SystemOutputs {
  const certificates =
    cfg.tls.mode === "mkcert" && cfg.traefik.manage
      ? new LocalCertificates("local-certs", { certsDir: cfg.tls.certsDir, domains: routedHosts(cfg) })
      : undefined;
  return deploySystem(cfg, { protectData: false, certificates });
}

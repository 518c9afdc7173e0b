import { LocalCertificates } from "../components/localCertificates";
import { StackConfig } from "./config";
import { SystemOutputs, deploySystem } from "./system";

/** The laptop: .local domains, mkcert certificates, .dev-data folders, nothing protected. */
export function devStack(cfg: StackConfig): SystemOutputs {
  const certificates =
    cfg.tls.mode === "mkcert" && cfg.traefik.manage
      ? new LocalCertificates("local-certs", { certsDir: cfg.tls.certsDir, domains: cfg.services.map((s) => s.host) })
      : undefined;
  return deploySystem(cfg, { protectData: false, certificates });
}

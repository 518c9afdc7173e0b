import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "./config";
import { SystemOutputs, deploySystem } from "./system";

/** The VPS: public domains, Let's Encrypt, /root folders, data protected from destroy. */
export function prodStack(cfg: StackConfig): SystemOutputs {
  if (!cfg.secrets.backupOffsite) {
    // A warning in every `npm run deploy` / `pulumi up`, not an error: the off-site target may not exist yet.
    void pulumi.log.warn(
      `no off-site backup: the uploads, databases and certificates exist only on this VPS. Set it up with ` +
        `pulumi config set --secret ems-infra:backupOffsite '{"repository":"…","password":"…"}' --stack ${cfg.stack} (README, "Off-site backups")`,
    );
  }
  return deploySystem(cfg, { protectData: true });
}

import { StackConfig } from "./config";
import { SystemOutputs, deploySystem } from "./system";

/** The VPS: public domains, Let's Encrypt, /root folders, data protected from destroy. */
export function prodStack(cfg: StackConfig): SystemOutputs {
  return deploySystem(cfg, { protectData: true });
}

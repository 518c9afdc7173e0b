import { StackConfig } from "./config";
import { devStack } from "./dev";
import { prodStack } from "./prod";
import { SystemOutputs } from "./system";

/** The composition the config asks for: the VPS one for production, the laptop one otherwise. */
export function deployStack(config: StackConfig): SystemOutputs {
  return config.environment === "production" ? prodStack(config) : devStack(config);
}

import { StackConfig } from "./config";
import { devStack } from "./dev";
import { prodStack } from "./prod";
import { deploySwarmSystem } from "./swarm";
import { SystemOutputs } from "./system";

/**
 * The composition the config asks for, chosen once here: a swarm cluster (`platform: swarm`), else the VPS one
 * for production and the laptop one otherwise.
 */
export function deployStack(config: StackConfig): SystemOutputs {
  if (config.platform === "swarm")
    return deploySwarmSystem(config, { protectData: config.environment === "production" });
  return config.environment === "production" ? prodStack(config) : devStack(config);
}

import { loadStackConfig } from "./stacks/load";
import { guardPlatformChange } from "./stacks/platformGuard";
import { deployStack } from "./stacks/select";

const config = loadStackConfig({ localOverrides: true });
export = guardPlatformChange(config).then(() => deployStack(config));

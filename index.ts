import { loadStackConfig } from "./stacks/load";
import { devStack } from "./stacks/dev";
import { prodStack } from "./stacks/prod";

const config = loadStackConfig();
export = config.environment === "production" ? prodStack(config) : devStack(config);

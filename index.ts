import { loadStackConfig } from "./stacks/load";
import { deployStack } from "./stacks/select";

export = deployStack(loadStackConfig({ localOverrides: true }));

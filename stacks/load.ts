import * as pulumi from "@pulumi/pulumi";
import { ConfigError, StackConfig, parseStackConfig } from "./config";

// Which keys were set with --secret is only known to the runtime; it exposes that as an internal function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig: { isConfigSecret?: (key: string) => boolean } = require("@pulumi/pulumi/runtime/config");

/** Reads this stack's config once and validates it; a bad config stops the run with every problem listed. */
export function loadStackConfig(): StackConfig {
  const raw = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(raw).filter((key) => runtimeConfig.isConfigSecret?.(key) ?? true));
  try {
    return parseStackConfig(pulumi.getStack(), raw, secretKeys);
  } catch (err) {
    // RunError prints the message alone, without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(`${err.message}\n(stack "${pulumi.getStack()}")`);
    throw err;
  }
}

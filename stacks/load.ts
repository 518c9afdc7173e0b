import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, RawStackConfig, StackConfig, parseStackConfig } from "./config";
import { applyOverrides, attributeProblems, readLocalOverrides } from "./localOverrides";

// Which keys were set with --secret is only known to the runtime; it exposes that as an internal function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig: { isConfigSecret?: (key: string) => boolean } = require("@pulumi/pulumi/runtime/config");

/** The project folder (Pulumi.yaml's): relative paths in config start here, whatever the working directory. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

export interface LoadOptions {
  /** Merge the developer's `Pulumi.dev.local.yaml` (real runs only: index.ts; the tests run the committed files). */
  localOverrides?: boolean;
  /** Where `~` points (default: the user's home). */
  home?: string;
  /** Where relative paths start and the overrides file is looked for (default: the project folder). */
  projectRoot?: string;
}

/**
 * A stack's raw config validated: with `localOverrides`, the dev stack's override file merged in first, its
 * problems named by file and key. Throws a ConfigError listing every problem.
 */
export function parseWithOverrides(
  stack: string,
  raw: RawStackConfig,
  secretKeys: ReadonlySet<string>,
  options: LoadOptions = {},
): StackConfig {
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;
  const overrides = options.localOverrides ? readLocalOverrides(stack, projectRoot) : undefined;
  try {
    return parseStackConfig(
      stack,
      applyOverrides(raw, overrides),
      secretKeys,
      options.home ?? os.homedir(),
      projectRoot,
    );
  } catch (err) {
    throw err instanceof ConfigError ? attributeProblems(err, overrides) : err;
  }
}

/** Reads this stack's config once and validates it; a bad config stops the run with every problem listed. */
export function loadStackConfig(options: LoadOptions = {}): StackConfig {
  const raw = pulumi.runtime.allConfig();
  const secretKeys = new Set(Object.keys(raw).filter((key) => runtimeConfig.isConfigSecret?.(key) ?? true));
  try {
    return parseWithOverrides(pulumi.getStack(), raw, secretKeys, options);
  } catch (err) {
    // RunError prints the message alone, without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(`${err.message}\n(stack "${pulumi.getStack()}")`);
    throw err;
  }
}

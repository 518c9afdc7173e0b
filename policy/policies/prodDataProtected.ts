import * as pulumi from "@pulumi/pulumi";
import { ResourceValidationPolicy } from "@pulumi/policy";
import { ExtendedArgs, TYPES } from "../lib";

/** The stack a run is for. */
export interface StackContext {
  /** Stack name (`dev`, `prod`). */
  stack: string;
  /** Config `ems-infra:environment` (`development` | `production`), when known. */
  environment?: string;
}

/**
 * Context of a real `pulumi preview/up --policy-pack`: the CLI starts the pack with PULUMI_NODEJS_STACK
 * and PULUMI_CONFIG set (pkg/resource/plugin/analyzer_plugin.go, constructEnv), so `pulumi.getStack()`
 * and `pulumi.Config` work inside the pack. Read lazily, at validation time.
 */
export function runtimeStackContext(): StackContext {
  let environment: string | undefined;
  try {
    environment = new pulumi.Config("ems-infra").get("environment");
  } catch {
    environment = undefined;
  }
  return { stack: pulumi.getStack(), environment };
}

function isProduction(ctx: StackContext): boolean {
  const stack = ctx.stack.slice(ctx.stack.lastIndexOf("/") + 1);
  return stack === "prod" || ctx.environment === "production";
}

/**
 * Resources holding data that must outlive a `pulumi destroy` or a replacement:
 * every docker Volume (the Postgres data volume), and the `command:local:Command` /
 * `command:remote:Command` resources that create host folders, named `<x>-data-folders`
 * (uploads/logs/backups) or `<x>-acme-folder` (acme.json).
 */
export function isDataResource(r: { type: string; name: string }): boolean {
  if (r.type === TYPES.volume) return true;
  if (r.type === TYPES.localCommand || r.type === TYPES.remoteCommand) {
    return r.name.endsWith("-data-folders") || r.name.endsWith("-acme-folder");
  }
  return false;
}

const PROTECT_MESSAGE = "Production data resources must set protect: true.";
const RETAIN_MESSAGE = "Production data resources must set retainOnDelete: true.";

/**
 * 8. prod-data-protected: in production (stack `prod`, or config ems-infra:environment = production),
 * data resources (`isDataResource`) have `protect: true` and `retainOnDelete: true`.
 *
 * `protect` comes from `args.opts.protect`. `retainOnDelete` is NOT visible to a policy pack:
 * @pulumi/policy 1.21's PolicyResourceOptions (and the engine's AnalyzerResourceOptions message) carry
 * protect, ignoreChanges, deleteBeforeReplace, aliases, customTimeouts, additionalSecretOutputs and parent
 * only. So it is checked only when `opts` has a `retainOnDelete` field, which evaluatePack always
 * supplies (false when not recorded); a real preview checks `protect` alone.
 */
export function createProdDataProtectedPolicy(
  context: () => StackContext = runtimeStackContext,
): ResourceValidationPolicy {
  return {
    name: "prod-data-protected",
    description: "In production, data volumes and host data folders are protected and retained on delete.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
      if (!isDataResource(args)) {
        args.notApplicable("Only data volumes and host data-folder commands are checked.");
      }
      if (!isProduction(context())) {
        args.notApplicable("Only production stacks are checked.");
      }
      const opts = (args as ExtendedArgs).opts;
      if (opts.protect !== true) reportViolation(PROTECT_MESSAGE);
      if ("retainOnDelete" in opts && opts.retainOnDelete !== true) reportViolation(RETAIN_MESSAGE);
    },
  };
}

export const prodDataProtected: ResourceValidationPolicy = createProdDataProtectedPolicy();

// Runs the pack's policies in-process, without the Pulumi engine: for the policy tests and for stack
// tests that record every resource registered under `pulumi.runtime.setMocks`.
import type {
  Policies,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import { createPolicies } from "../policy/catalog";
import { ExtendedArgs, isSecretValue, Secret } from "../policy/lib";

/** A resource as a test recorded it (`MockResourceArgs` + the options it was registered with). */
export interface RecordedResource {
  /** Type token, e.g. `docker:index/container:Container`. */
  type: string;
  /** Logical name. */
  name: string;
  urn?: string;
  /** Inputs (`MockResourceArgs.inputs`; RPC-encoded secrets are understood). */
  props: Record<string, unknown>;
  opts?: {
    protect?: boolean;
    retainOnDelete?: boolean;
    parent?: string;
    additionalSecretOutputs?: string[];
  };
}

export interface EvaluateOptions {
  /** Config `ems-infra:environment`, if the stack name alone does not say. */
  environment?: string;
  /**
   * Whether secret inputs are still marked in `props` (true for setMocks inputs and hand-built props
   * that use `new Secret(...)`): no-plaintext-credentials then requires each credential to be a secret.
   * Default true.
   */
  secretsVisible?: boolean;
  /** Run only the policies with these names (default: every policy of the pack). */
  only?: string[];
}

class NotApplicable extends Error {
  constructor(reason?: string) {
    super(reason ?? "not applicable");
  }
}

/** Turns RPC-encoded secrets (`{ <sigKey>: <secretSig>, value }`, as setMocks hands them) into `Secret`s. */
function normalizeSecrets(v: unknown): unknown {
  if (v instanceof Secret) return new Secret(normalizeSecrets(v.value));
  if (isSecretValue(v)) return new Secret(normalizeSecrets((v as { value: unknown }).value));
  if (Array.isArray(v)) return v.map(normalizeSecrets);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) out[k] = normalizeSecrets(e);
    return out;
  }
  return v;
}

function pulumiTypeOf(resourceClass: unknown): string | undefined {
  const t = (resourceClass as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof t === "string" && t.length > 0 ? t : undefined;
}

function buildArgs(r: RecordedResource, stack: string, secretsVisible: boolean): ExtendedArgs {
  const props = normalizeSecrets(r.props ?? {}) as ResourceValidationArgs["props"];
  const urn = r.urn ?? `urn:pulumi:${stack}::ems-infra::${r.type}::${r.name}`;
  const opts: ExtendedArgs["opts"] = {
    protect: r.opts?.protect === true,
    retainOnDelete: r.opts?.retainOnDelete === true,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: r.opts?.additionalSecretOutputs ?? [],
  };
  if (r.opts?.parent) opts.parent = r.opts.parent;
  return {
    type: r.type,
    name: r.name,
    urn,
    props,
    opts,
    stackTags: new Map<string, string>(),
    secretsVisible,
    isType: (resourceClass) => pulumiTypeOf(resourceClass) === r.type,
    asType: ((resourceClass: unknown) =>
      pulumiTypeOf(resourceClass) === r.type ? props : undefined) as ExtendedArgs["asType"],
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

/**
 * Runs every resource-validation policy against every resource, as the engine would (type filter,
 * "disabled" policies skipped, not-applicable respected), and returns the violations as
 * `[<policy>] <resource name>: <message>`, sorted by policy then resource name (a resource's
 * messages for one policy stay in reporting order).
 * Only synchronous validations are supported (all of this pack's are).
 */
export function evaluatePack(resources: RecordedResource[], stack: string, options: EvaluateOptions = {}): string[] {
  const all: Policies = createPolicies(() => ({ stack, environment: options.environment }));
  const unknown = (options.only ?? []).filter((n) => !all.some((p) => p.name === n));
  if (unknown.length > 0) throw new Error(`evaluatePack: no policy named ${unknown.join(", ")}`);
  const policies = options.only ? all.filter((p) => options.only!.includes(p.name)) : all;
  const secretsVisible = options.secretsVisible ?? true;
  const violations: Array<{ policy: string; resource: string; text: string }> = [];
  for (const r of resources) {
    for (const p of policies) {
      if (!("validateResource" in p) || !p.validateResource || p.enforcementLevel === "disabled") continue;
      const policy = p as ResourceValidationPolicy;
      const validations: ResourceValidation[] = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource as ResourceValidation];
      if (validations.length === 1) {
        const only = pulumiTypeOf(validations[0]);
        if (only && only !== r.type) continue;
      }
      const report: ReportViolation = (message: string) => {
        violations.push({ policy: policy.name, resource: r.name, text: `[${policy.name}] ${r.name}: ${message}` });
      };
      for (const validate of validations) {
        try {
          const result = validate(buildArgs(r, stack, secretsVisible), report);
          if (result && typeof (result as Promise<void>).then === "function") {
            throw new Error(
              `policy ${policy.name} is asynchronous; evaluatePack supports synchronous validations only`,
            );
          }
        } catch (e) {
          if (e instanceof NotApplicable) continue;
          throw new Error(`policy ${policy.name} failed on ${r.type} "${r.name}": ${(e as Error).message}`);
        }
      }
    }
  }
  // Registration order under setMocks is not deterministic: sort by policy, then resource name
  // (stable, so one resource's messages keep the order the policy reported them in).
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return violations.sort((a, b) => cmp(a.policy, b.policy) || cmp(a.resource, b.resource)).map((v) => v.text);
}

// Helpers shared by the policies of the ems-infra-guardrails pack.
//
// The policies only read resource *inputs* (args.props). In a real `pulumi preview --policy-pack`
// those props come from the engine with every secret already unwrapped to its plain value
// (@pulumi/policy 1.21, server.js: `deserializeProperties(req.getProperties(), false)` in `analyze`).
// Under evaluatePack (tests, `pulumi.runtime.setMocks`) a secret is still visible, as a
// `Secret` instance. `reveal` makes both look the same to the policies that don't care about secrecy.
import { Secret } from "@pulumi/policy";
import type { ResourceValidationArgs } from "@pulumi/policy";

export { Secret };
import { RESOURCE_TYPES } from "../components/resourceTypes";

/** Resource type tokens the policies look at (from the program's one table). */
export const TYPES = {
  container: RESOURCE_TYPES.container,
  remoteImage: RESOURCE_TYPES.image,
  volume: RESOURCE_TYPES.volume,
  localCommand: RESOURCE_TYPES.localCommand,
  remoteCommand: RESOURCE_TYPES.remoteCommand,
} as const;

// The Pulumi RPC encoding of a secret (`@pulumi/pulumi/runtime/rpc`: specialSigKey / specialSecretSig),
// which is what `pulumi.runtime.setMocks` hands to `newResource` as inputs.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when `v` is visibly a secret: a policy `Secret` or an RPC-encoded secret (mock inputs). */
export function isSecretValue(v: unknown): boolean {
  if (v instanceof Secret) return true;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return true;
    // A Secret from another copy of @pulumi/policy (e.g. policy/node_modules vs the root's).
    if (o.constructor?.name === "Secret" && Object.keys(o).length === 1 && "value" in o) return true;
  }
  return false;
}

/** Unwraps one level of secret. */
function unwrapOne(v: unknown): unknown {
  if (v instanceof Secret) return v.value;
  if (isSecretValue(v)) return (v as { value: unknown }).value;
  return v;
}

/** Deep copy of `v` with every secret replaced by its plain value. */
export function reveal<T>(v: T): T {
  const u = unwrapOne(v);
  if (Array.isArray(u)) return u.map((e) => reveal(e)) as unknown as T;
  if (u !== null && typeof u === "object" && Object.getPrototypeOf(u) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(u)) out[k] = reveal(e);
    return out as T;
  }
  return u as T;
}

/** `reveal`ed array, or [] when the input is missing. */
export function revealArray<T>(v: readonly T[] | T[] | undefined | null): T[] {
  const r = reveal(v);
  return Array.isArray(r) ? r : [];
}

// ---------------------------------------------------------------- images

// The image rules live in one module shared with the config schema and the ops CLIs: a reference the
// config accepts is one this pack accepts.
export {
  isHaproxyImage,
  isPinnedImageRef,
  isPortainerImage,
  isPostgresImage,
  isTraefikImage,
} from "../components/imageRef";

// ---------------------------------------------------------------- labels, env

/** Container `labels` input (`[{label, value}]`) as a plain map; secrets are revealed. */
export function labelMap(labels: ReadonlyArray<{ label: string; value: string }> | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of revealArray(labels as Array<{ label: string; value: string }> | undefined)) {
    if (l && typeof l.label === "string") m.set(l.label, String(l.value ?? ""));
  }
  return m;
}

/** Splits `NAME=value` (value may contain `=`). A bare `NAME` has value undefined. */
export function splitEnv(entry: string): { name: string; value: string | undefined } {
  const eq = entry.indexOf("=");
  return eq < 0 ? { name: entry, value: undefined } : { name: entry.slice(0, eq), value: entry.slice(eq + 1) };
}

/** Resource options plus `retainOnDelete`, which the policy engine does not pass (see prod-data-protected). */
type ExtendedOptions = ResourceValidationArgs["opts"] & { retainOnDelete?: boolean };

/**
 * What evaluatePack adds to the engine's arguments: `retainOnDelete` in `opts`, and `secretsVisible`,
 * true when the props still show which values are secrets (mock inputs, hand-built tests). The engine
 * never sets either (see no-plaintext-credentials).
 */
export type ExtendedArgs = ResourceValidationArgs & { opts: ExtendedOptions; secretsVisible?: boolean };

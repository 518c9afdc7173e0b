/**
 * The pinned providers' replace rules, vendored as data (testkit/provider-rules/*.json, each naming its source):
 * per resource type, which inputs force a replacement, which the provider updates on the running resource, and
 * which only change the state. `planChange` decides, like the engine, what `pulumi up` does with a set of
 * changed inputs, honouring the resource's `replaceOnChanges` and `ignoreChanges`.
 */
import * as fs from "fs";
import * as path from "path";

/** What a change of one input does: replace the resource, update it in place, or only change the state. */
export type Effect = "replace" | "live" | "state";

interface RuleSource {
  /** GitHub owner/name. */
  repo: string;
  /** Release tag read, when the mirror had it. */
  tag?: string;
  /** Commit read. */
  commit?: string;
  /** File(s) read. */
  file: string;
  /** What was taken from it. */
  what: string;
}

export interface ResourceRules {
  /** Inputs the provider marks ForceNew (willReplaceOnChanges / RequiresReplace / replaceOnChanges). */
  replace: string[];
  /** Inputs the provider's Update applies to the running resource. */
  live: string[];
  /** Inputs whose change is stored in the state and reaches nothing until the next replacement. */
  state: string[];
  /** The fields of a nested input (an object or a list of objects): a change of any counts as a change of it. */
  nested?: Record<string, string[]>;
  /** Why an input is where it is, when that is not obvious. */
  notes?: Record<string, string>;
}

export interface ProviderRulesFile {
  /** Pulumi package name (docker, command, random). */
  provider: string;
  /** The npm package and version the table is for, e.g. `@pulumi/docker 5.2.0` (checked against package.json). */
  package: string;
  /** Where the table comes from. */
  sources: RuleSource[];
  /** Rules per resource type token. */
  resources: Record<string, ResourceRules>;
}

export const RULES_DIR = path.join(__dirname, "provider-rules");

let cache: Map<string, ResourceRules & { file: ProviderRulesFile }> | undefined;

/** Every vendored table, by resource type. */
export function loadProviderRules(): Map<string, ResourceRules & { file: ProviderRulesFile }> {
  if (cache) return cache;
  const rules = new Map<string, ResourceRules & { file: ProviderRulesFile }>();
  for (const name of fs
    .readdirSync(RULES_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const file = JSON.parse(fs.readFileSync(path.join(RULES_DIR, name), "utf8")) as ProviderRulesFile;
    for (const [type, r] of Object.entries(file.resources)) {
      if (rules.has(type)) throw new Error(`${name}: ${type} is already defined by another table`);
      rules.set(type, { ...r, file });
    }
  }
  cache = rules;
  return rules;
}

/** The top-level input a property path belongs to: `healthcheck.interval` → `healthcheck`, `triggers[*]` → `triggers`. */
function topKey(propertyPath: string): string {
  const m = /^[^.[]+/.exec(propertyPath);
  return m ? m[0] : propertyPath;
}

/** The effect of changing one input (a nested path counts as its top-level key); undefined when not in the table. */
export function effectOf(type: string, input: string): Effect | undefined {
  const rules = loadProviderRules().get(type);
  if (!rules) return undefined;
  const key = topKey(input);
  if (rules.replace.includes(key)) return "replace";
  if (rules.live.includes(key)) return "live";
  if (rules.state.includes(key)) return "state";
  return undefined;
}

/** Whether `path` is `input` or above it: `healthcheck` is above `healthcheck.interval`; `"*"` is above everything. */
function above(path: string, input: string): boolean {
  return path === "*" || input === path || input.startsWith(`${path}.`) || input.startsWith(`${path}[`);
}

/** Whether an `ignoreChanges` list drops a change of `input` (a nested ignore does not drop its whole parent). */
export function ignores(paths: readonly string[] | undefined, input: string): boolean {
  return (paths ?? []).some((p) => above(p, input));
}

/**
 * Whether a `replaceOnChanges` list makes a change of `input` a replace. A nested path (`healthcheck.interval`)
 * counts for a change of its parent too: the bench sees top-level changes only, so it assumes the worst.
 */
export function replacesOn(paths: readonly string[] | undefined, input: string): boolean {
  return (paths ?? []).some((p) => above(p, input) || above(input, p));
}

/** The options of a resource that steer its diff. */
export interface DiffOptions {
  /** Input paths whose change replaces the resource whatever the provider says. */
  replaceOnChanges?: readonly string[];
  /** Input paths whose change the engine ignores (the old value is kept). */
  ignoreChanges?: readonly string[];
}

type PlannedAction = "replace" | "update" | "nothing";

interface InputVerdict {
  input: string;
  effect: Effect | "ignored";
  /** Replaced because the resource's replaceOnChanges covers an input the provider would not replace for. */
  forcedByOption: boolean;
}

export interface Plan {
  action: PlannedAction;
  /** For an update: whether any of it reaches the running resource (false: state only). */
  live: boolean;
  inputs: InputVerdict[];
}

/** What `pulumi up` does to a resource whose `changed` inputs differ; throws for a type or input not in the table. */
export function planChange(type: string, changed: string[], opts: DiffOptions = {}): Plan {
  if (!loadProviderRules().has(type)) throw new Error(`no provider rules for ${type} (add it to ${RULES_DIR})`);
  const inputs: InputVerdict[] = changed.map((input) => {
    const effect = effectOf(type, input);
    if (effect === undefined)
      throw new Error(`${type}: input "${input}" is not in the provider rules (classify it in ${RULES_DIR})`);
    if (ignores(opts.ignoreChanges, input)) return { input, effect: "ignored", forcedByOption: false };
    return { input, effect, forcedByOption: effect !== "replace" && replacesOn(opts.replaceOnChanges, input) };
  });
  const counted = inputs.filter((v) => v.effect !== "ignored");
  if (counted.length === 0) return { action: "nothing", live: false, inputs };
  if (counted.some((v) => v.effect === "replace" || v.forcedByOption)) return { action: "replace", live: true, inputs };
  return { action: "update", live: counted.some((v) => v.effect === "live"), inputs };
}

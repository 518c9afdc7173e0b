/**
 * What `pulumi up` would do between two mocked runs of the program: resources matched by type and name (the
 * URN's last part; names are unique per type here), each changed resource classified by the pinned providers'
 * vendored rules (testkit/providerRules.ts) and its own `replaceOnChanges`/`ignoreChanges`, the way the engine
 * does it. Not modelled: read-back (what a refresh brings in), failing commands, stdout-derived inputs.
 */
import { DiffOptions, planChange } from "./providerRules";

/** A resource as captured from a mocked run. */
export interface Captured {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as the engine received them (secret values inside their envelope). */
  inputs: Record<string, unknown>;
  /** Whether the resource is protected: replacing or deleting it fails the update. */
  protect?: boolean;
  /** The resource options that steer its diff. */
  diff?: DiffOptions;
  /** Whether the old resource is deleted before its replacement is created. */
  deleteBeforeReplace?: boolean;
}

export type Action = "create" | "replace" | "update" | "delete";

export interface Change {
  action: Action;
  type: string;
  name: string;
  /** Inputs that differ and are not ignored (empty for create/delete). */
  changed: string[];
  /** For an update: true when nothing of it reaches the running resource (the provider only stores it). */
  stateOnly?: boolean;
}

/** JSON with sorted keys: the same value always gives the same text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter((k) => stableJson(before[k]) !== stableJson(after[k]));
}

/** Classifies one changed custom resource from the provider rules; components change only by create/delete. */
export function classify(
  type: string,
  changed: string[],
  opts: DiffOptions = {},
): Omit<Change, "type" | "name"> | undefined {
  const plan = planChange(type, changed, opts);
  const kept = plan.inputs.filter((v) => v.effect !== "ignored").map((v) => v.input);
  if (plan.action === "nothing") return undefined;
  if (plan.action === "update" && !plan.live) return { action: "update", changed: kept, stateOnly: true };
  return { action: plan.action, changed: kept };
}

const keyOf = (r: Pick<Captured, "type" | "name">) => `${r.type}::${r.name}`;

/** Every resource that `pulumi up` would touch going from `before` to `after`, in `after`'s order (deletes last). */
export function diffRuns(before: Captured[], after: Captured[]): Change[] {
  const old = new Map(before.map((r) => [keyOf(r), r]));
  const now = new Set(after.map(keyOf));
  const changes: Change[] = [];
  for (const r of after) {
    const prev = old.get(keyOf(r));
    if (!prev) {
      changes.push({ action: "create", type: r.type, name: r.name, changed: [] });
      continue;
    }
    if (!r.custom) continue;
    const changed = changedInputs(prev.inputs, r.inputs);
    if (changed.length === 0) continue;
    // The engine diffs with the new program's options.
    const verdict = classify(r.type, changed, r.diff);
    if (verdict) changes.push({ type: r.type, name: r.name, ...verdict });
  }
  for (const r of before)
    if (!now.has(keyOf(r))) changes.push({ action: "delete", type: r.type, name: r.name, changed: [] });
  return changes;
}

/** The changes Pulumi would refuse: a protected resource (as it stood before) replaced or deleted. */
export function protectedViolations(before: Captured[], changes: Change[]): Change[] {
  const isProtected = new Set(before.filter((r) => r.protect).map(keyOf));
  return changes.filter((c) => (c.action === "replace" || c.action === "delete") && isProtected.has(keyOf(c)));
}

export function countByAction(changes: Change[]): Record<Action, number> {
  const counts: Record<Action, number> = { create: 0, replace: 0, update: 0, delete: 0 };
  for (const c of changes) counts[c.action]++;
  return counts;
}

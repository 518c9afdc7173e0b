/**
 * What `pulumi up` would do between two mocked runs of the program: resources matched by type and name (the
 * URN's last part; names are unique per type here), classified the way their providers diff them.
 */

/** A resource as captured from a mocked run. */
export interface Captured {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as the engine received them (secret values inside their envelope). */
  inputs: Record<string, unknown>;
  /** Whether the resource is protected: replacing or deleting it fails the update. */
  protect?: boolean;
}

export type Action = "create" | "replace" | "update" | "delete";

export interface Change {
  action: Action;
  type: string;
  name: string;
  /** Inputs that differ (empty for create/delete). */
  changed: string[];
}

const REPLACE_ON_ANY_INPUT = new Set([
  // The docker provider marks a container's image, envs, labels, mounts, uploads, name, healthcheck,
  // networksAdvanced... ForceNew: treated as "every input".
  "docker:index/container:Container",
  "docker:index/remoteImage:RemoteImage",
  "docker:index/volume:Volume",
  "docker:index/network:Network",
  "random:index/randomPassword:RandomPassword",
]);
const COMMANDS = new Set(["command:local:Command", "command:remote:Command"]);

/** The inputs whose change makes the provider replace the resource: "all", a list, or none ([]). */
export function replacingInputs(type: string): "all" | string[] {
  if (REPLACE_ON_ANY_INPUT.has(type)) return "all";
  if (COMMANDS.has(type)) return ["triggers"];
  return [];
}

/** JSON with sorted keys: the same value always gives the same text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}

export function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter((k) => stableJson(before[k]) !== stableJson(after[k]));
}

/** Classifies one changed resource. */
export function classify(type: string, changed: string[]): "replace" | "update" {
  const replacing = replacingInputs(type);
  return replacing === "all" || changed.some((k) => replacing.includes(k)) ? "replace" : "update";
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
    const changed = changedInputs(prev.inputs, r.inputs);
    if (changed.length > 0) changes.push({ action: classify(r.type, changed), type: r.type, name: r.name, changed });
  }
  for (const r of before) if (!now.has(keyOf(r))) changes.push({ action: "delete", type: r.type, name: r.name, changed: [] });
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

/** How a preview or an update changes resources, and what `pulumi config set --path` would store. */
import type { OpMap } from "@pulumi/pulumi/automation";

const OP_LABELS: Array<[keyof OpMap, string]> = [
  ["create", "created"],
  ["update", "updated"],
  ["replace", "replaced"],
  ["delete", "deleted"],
  ["import", "imported"],
  ["same", "unchanged"],
];

/** `2 updated, 1 replaced, 14 unchanged` from a resourceChanges / changeSummary map. */
export function formatResourceChanges(changes: OpMap | Record<string, number | undefined> | undefined): string {
  const map = (changes ?? {}) as Record<string, number | undefined>;
  const parts = OP_LABELS.filter(([op]) => (map[op] ?? 0) > 0).map(([op, label]) => `${map[op]} ${label}`);
  return parts.length ? parts.join(", ") : "no resources";
}

/** True when a preview proposes anything other than leaving resources as they are. */
export function hasChanges(changes: OpMap | undefined): boolean {
  return Object.entries(changes ?? {}).some(([op, n]) => op !== "same" && (n ?? 0) > 0);
}

/**
 * `pulumi config set --path` stores `true`/`false` as booleans and integer-looking values as numbers,
 * which the program's schema rejects for versions and image references.
 */
export function assertStoredAsString(key: string, value: string): void {
  const integer = /^[+-]?[0-9]+$/.test(value) && !(value.length > 1 && value.startsWith("0"));
  if (integer || value === "true" || value === "false") {
    throw new Error(
      `${key}: "${value}" would be stored as a ${integer ? "number" : "boolean"} by \`pulumi config set --path\`, ` +
        `and the program expects a string: use a tag with a dot or a letter in it`,
    );
  }
}

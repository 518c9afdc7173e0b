/** The messages of a refused config: every problem named by its full key. */
import { z } from "zod";
import { PROJECT } from "./configSchema";

/** A refused config: `problems` holds one line per bad key, the message lists them all. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** A YAML mapping (not a list, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "a string", "a number", "a list"... : what a config value is, in the words of the YAML file. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a mapping (key: value)";
  if (typeof value === "boolean") return "true/false";
  return `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  record: "a mapping (key: value)",
  array: "a list",
};

/**
 * One line per problem, naming the full key. `root` is the object that was validated: the value at the
 * issue's path tells "not set" from "set to the wrong type" (zod does not report the input by default).
 */
export function describeIssue(
  issue: z.core.$ZodIssue,
  root: Record<string, unknown>,
  stack: string,
  redact = false,
): string[] {
  const key = `${PROJECT}:${issue.path.map(String).join(".")}`;
  const actual = issue.path.reduce<unknown>(
    (node, k) => (isRecord(node) || Array.isArray(node) ? (node as Record<string, unknown>)[String(k)] : undefined),
    root,
  );
  // A required choice (environment) left out: zod reports it as a value not among the options.
  if (issue.code === "invalid_value" && actual === undefined) return [`${key}: is required but not set`];
  if (issue.code === "invalid_type") {
    if (actual === undefined) return [`${key}: is required but not set`];
    // A rule's own message (e.g. postgres.hostPort's) says it better than the type names.
    if (!issue.message.startsWith("Invalid input")) return [`${key}: ${issue.message}`];
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    if (
      issue.expected === "string" &&
      (typeof actual === "number" || typeof actual === "boolean") &&
      issue.path.length > 1
    ) {
      // YAML reads an unquoted 1.5 or 1.10 as a number (1.10 becomes 1.1): only quotes keep the text.
      const field = String(issue.path[issue.path.length - 1]);
      const example = redact ? "" : `, e.g. ${field}: "${String(actual)}"`;
      return [
        `${key}: must be a string, got ${kindOf(actual)}${redact ? "" : ` (${String(actual)})`}; quote it in Pulumi.${stack}.yaml${example}`,
      ];
    }
    // 80.5 for a port: "must be a whole number, got a number" would not say what is wrong.
    if (issue.expected === "int" && typeof actual === "number")
      return [`${key}: must be a whole number${redact ? "" : `, got ${actual}`}`];
    return [`${key}: must be ${expected}, got ${kindOf(actual)}`];
  }
  // A record key that breaks its rule (a service named EMS): zod's own text is "Invalid key in record".
  if (issue.code === "invalid_key") return issue.issues.map((inner) => `${key}: ${inner.message}`);
  if (issue.code === "unrecognized_keys") {
    const base = issue.path.length ? `${key}.` : `${PROJECT}:`;
    return issue.keys.map((k) => `${base}${k}: is not a known setting (typo?)`);
  }
  if (issue.code === "invalid_union" && "discriminator" in issue) {
    const modeKey = key.endsWith(".mode") ? key : `${key}.mode`;
    return [`${modeKey}: ${actual === undefined ? "is required but not set; it " : ""}must be "mkcert" or "acme"`];
  }
  return [`${key}: ${issue.message}`];
}

/**
 * A developer's own dev settings without editing the committed stack file: `Pulumi.dev.local.yaml` (git-ignored),
 * shaped like Pulumi.dev.yaml (`config:` with `ems-infra:*` keys), merged over it key by key (mappings merged, any
 * other value replaced) and validated by the same schema. Only the dev stack reads it, and only a real run
 * (index.ts, `npm run doctor`/`down`): the tests run the committed files alone.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, isRecord } from "./configErrors";
import { PROJECT, SECRET_KEYS } from "./configSchema";
import type { RawStackConfig } from "./config";

/** The stack whose settings a developer may override locally (prod's come from the shared stack file only). */
const OVERRIDABLE_STACK = "dev";

/** The file name of a stack's local overrides. */
function overrideFileName(stack: string): string {
  return `Pulumi.${stack}.local.yaml`;
}

/** The overrides read from a project folder: full keys to values as written (objects, strings, numbers). */
export interface LocalOverrides {
  file: string;
  values: Record<string, unknown>;
}

/** The dev stack's overrides file, or undefined (another stack, or no file). A malformed file throws a ConfigError naming it. */
export function readLocalOverrides(stack: string, projectRoot: string): LocalOverrides | undefined {
  if (stack !== OVERRIDABLE_STACK) return undefined;
  const file = path.join(projectRoot, overrideFileName(stack));
  if (!fs.existsSync(file)) return undefined;
  const name = overrideFileName(stack);
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError([`${name}: is not valid YAML (${(err as Error).message.split("\n")[0]})`]);
  }
  if (doc === null || doc === undefined) return { file, values: {} };
  if (!isRecord(doc) || !isRecord(doc.config ?? {}) || Object.keys(doc).some((k) => k !== "config"))
    throw new ConfigError([`${name}: must hold one \`config:\` mapping, like Pulumi.${stack}.yaml`]);
  const values = (doc.config ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const short = key.startsWith(`${PROJECT}:`) ? key.slice(PROJECT.length + 1) : undefined;
    if (short === undefined) problems.push(`${name}: ${key}: only ${PROJECT}:* keys can be overridden here`);
    else if ((SECRET_KEYS as readonly string[]).includes(short) || (isRecord(value) && "secure" in value))
      problems.push(
        `${name}: ${key}: a credential cannot be set in this file; set it with: pulumi config set --secret ${key} <value> --stack ${stack}`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, values };
}

/** The stack's raw config with the overrides merged in (mappings merged key by key, other values replaced). */
export function applyOverrides(raw: RawStackConfig, overrides: LocalOverrides | undefined): RawStackConfig {
  if (!overrides) return raw;
  const merged: RawStackConfig = { ...raw };
  for (const [key, value] of Object.entries(overrides.values)) {
    const current = merged[key] === undefined ? undefined : parseJson(merged[key]);
    const next = isRecord(value) && isRecord(current) ? deepMerge(current, value) : value;
    merged[key] = typeof next === "string" ? next : JSON.stringify(next);
  }
  return merged;
}

/**
 * A ConfigError whose problems name the overrides file when the bad key was set there, e.g.
 * `Pulumi.dev.local.yaml: ems-infra:paths.data: must start with ~/ …`.
 */
export function attributeProblems(error: ConfigError, overrides: LocalOverrides | undefined): ConfigError {
  if (!overrides) return error;
  const name = path.basename(overrides.file);
  return new ConfigError(
    error.problems.map((problem) => {
      const key = /^([^\s:]+:[^\s:]+):/.exec(problem)?.[1];
      return key && setIn(overrides.values, key) ? `${name}: ${problem}` : problem;
    }),
  );
}

/** Whether a full dotted key (`ems-infra:paths.data`) or one of its parents is set in the overrides. */
function setIn(values: Record<string, unknown>, fullKey: string): boolean {
  const [top, ...rest] = fullKey.split(".");
  let node: unknown = values[top];
  if (node === undefined) return false;
  for (const part of rest) {
    if (!isRecord(node)) return true;
    node = node[part];
    if (node === undefined) return false;
  }
  return true;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/**
 * A stack's config read straight from its files (Pulumi.<stack>.yaml and, for dev, the developer's
 * Pulumi.dev.local.yaml), validated by the program's schema: what `doctor` and `down` need without the Pulumi CLI.
 * Credentials are left out (they are encrypted in the file and generated in dev).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { StackConfig } from "../stacks/config";
import { isRecord } from "../stacks/configErrors";
import { PROJECT, SECRET_KEYS } from "../stacks/configSchema";
import { parseWithOverrides } from "../stacks/load";

/** `ems-infra:environment` as written in Pulumi.<stack>.yaml, or undefined (no file, not set). */
export function environmentInFile(stack: string, projectRoot: string): string | undefined {
  const file = path.join(projectRoot, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) return undefined;
  const doc: unknown = YAML.parse(fs.readFileSync(file, "utf8"));
  const value = isRecord(doc) && isRecord(doc.config) ? doc.config[`${PROJECT}:environment`] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** The stack's resolved config from its files; a missing file or a bad value throws naming the file and keys. */
export function stackConfigFromFiles(stack: string, projectRoot: string, home?: string): StackConfig {
  const file = path.join(projectRoot, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`there is no ${path.basename(file)} in ${projectRoot}`);
  const doc: unknown = YAML.parse(fs.readFileSync(file, "utf8"));
  const config = isRecord(doc) && isRecord(doc.config) ? doc.config : {};
  const secret = new Set(SECRET_KEYS.map((k) => `${PROJECT}:${k}`));
  const raw = Object.fromEntries(
    Object.entries(config)
      .filter(([k]) => !secret.has(k))
      .map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return parseWithOverrides(stack, raw, new Set(), { localOverrides: true, projectRoot, ...(home ? { home } : {}) });
}

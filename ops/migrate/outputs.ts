/**
 * From the stack's config and outputs to what the cut-over needs. The outputs it reads (written by
 * stacks/system.ts): `containers` (names, a list or a name map), `postgresContainer` and the secret
 * `apiKeys` (service → key). Host names and health paths come from the config.
 */
import type { StackConfig } from "../../stacks/config";
import { CutoverOutputs } from "./cutover";

type RawOutputs = Record<string, { value: unknown } | undefined>;

function names(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (value && typeof value === "object") return Object.values(value).filter((v): v is string => typeof v === "string");
  return [];
}

function record(outputs: RawOutputs, key: string, stack: string): Record<string, string> {
  const value = outputs[key]?.value;
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new Error(`stack ${stack} has no output "${key}" (a map per service): is the program up to date?`);
  return value as Record<string, string>;
}

/** The cut-over's view of the stack after `pulumi up`; a missing output is named. */
export function cutoverOutputs(cfg: Pick<StackConfig, "stack" | "services">, outputs: RawOutputs): CutoverOutputs {
  const keys = record(outputs, "apiKeys", cfg.stack);
  const containers = names(outputs.containers?.value);
  if (containers.length === 0)
    throw new Error(`stack ${cfg.stack} has no output "containers": is the program up to date?`);
  const pg = outputs.postgresContainer?.value;
  return {
    containers,
    postgresContainer: typeof pg === "string" ? pg : undefined,
    apis: cfg.services.map((s) => {
      const apiKey = keys[s.name];
      if (typeof apiKey !== "string" || apiKey === "")
        throw new Error(`stack ${cfg.stack}: output "apiKeys" has no key for service ${s.name}`);
      return { service: s.name, host: s.host, healthPath: s.healthPath, apiKey, role: s.role, database: s.database };
    }),
  };
}

/** The committed stacks as the baseline, and the typical changes measured against them. */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const STACKS = ["dev", "prod"] as const;
export type Stack = (typeof STACKS)[number];

const ROOT = path.join(__dirname, "..");
const TOKEN = "ghp_BENCHTOKEN0123456789abcdefghijklmn";
const PASSWORD = "bench-Postgres-Password-0001";

/** Keys set with `--secret` in every run. */
export const SECRET_KEYS = ["ems-infra:ghcrToken", "ems-infra:postgresPassword"];

/** Pulumi.<stack>.yaml as Pulumi passes it (objects as JSON), plus the secrets a deploy has. */
export function baseline(stack: Stack): Record<string, string> {
  const file = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const config = Object.fromEntries(Object.entries(file.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return { ...config, "ems-infra:ghcrToken": TOKEN, "ems-infra:postgresPassword": PASSWORD };
}

function edit(config: Record<string, string>, key: string, change: (value: any) => any): Record<string, string> {
  const full = `ems-infra:${key}`;
  const value = config[full] === undefined ? undefined : /^[[{]/.test(config[full]) ? JSON.parse(config[full]) : config[full];
  const next = change(value);
  return { ...config, [full]: typeof next === "string" ? next : JSON.stringify(next) };
}

export interface TypicalChange {
  name: string;
  description: string;
  apply(config: Record<string, string>, stack: Stack): Record<string, string>;
}

export const CHANGES: TypicalChange[] = [
  {
    name: "ems-version",
    description: "EMS version bump (services.ems.version 1.0.0 → 1.0.1)",
    apply: (c) => edit(c, "services", (s) => ({ ...s, ems: { ...s.ems, version: "1.0.1" } })),
  },
  {
    name: "sms-version",
    description: "SMS version bump (services.sms.version 1.0.0 → 1.0.1)",
    apply: (c) => edit(c, "services", (s) => ({ ...s, sms: { ...s.sms, version: "1.0.1" } })),
  },
  {
    name: "traefik-image",
    description: "Traefik image change (traefik:v3.3.5 → traefik:v3.3.6)",
    apply: (c) => edit(c, "traefik", (t) => ({ ...t, image: "traefik:v3.3.6" })),
  },
  {
    name: "postgres-password",
    description: "Rotated secret: postgresPassword set to a new value",
    apply: (c) => ({ ...c, "ems-infra:postgresPassword": "bench-Postgres-Password-0002" }),
  },
  {
    name: "new-domain",
    description: "New domain (prod edumigsoft.com.br → edumigsoft.com, dev local → test)",
    apply: (c, stack) => ({ ...c, "ems-infra:domain": stack === "prod" ? "edumigsoft.com" : "test" }),
  },
  {
    name: "new-service",
    description: "A third API (services.crm version 1.0.0)",
    apply: (c) => edit(c, "services", (s) => ({ ...s, crm: { version: "1.0.0" } })),
  },
];

/** The config of one run: "baseline" or the name of a change. */
export function configFor(stack: Stack, change: string): Record<string, string> {
  const base = baseline(stack);
  if (change === "baseline") return base;
  const found = CHANGES.find((c) => c.name === change);
  if (!found) throw new Error(`unknown change "${change}" (known: baseline, ${CHANGES.map((c) => c.name).join(", ")})`);
  return found.apply(base, stack);
}

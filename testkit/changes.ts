/** The committed stacks as the baseline, and the typical changes measured against them. */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const STACKS = ["dev", "prod"] as const;
export type Stack = (typeof STACKS)[number];

const ROOT = path.join(__dirname, "..");
const TOKEN = "ghp_BENCHTOKEN0123456789abcdefghijklmn";
const PASSWORD = "bench-Postgres-Password-0001";
const DASHBOARD_PASSWORD = "bench-Dashboard-Password-0001";

/** Keys set with `--secret` in every run. */
export const SECRET_KEYS = ["ems-infra:ghcrToken", "ems-infra:postgresPassword", "ems-infra:dashboardPassword"];

/** Pulumi.<stack>.yaml as Pulumi passes it (objects as JSON), plus the secrets a deploy has. */
export function baseline(stack: Stack): Record<string, string> {
  const file = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  const config = Object.fromEntries(
    Object.entries(file.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return {
    ...config,
    "ems-infra:ghcrToken": TOKEN,
    "ems-infra:postgresPassword": PASSWORD,
    "ems-infra:dashboardPassword": DASHBOARD_PASSWORD,
  };
}

/** A service's settings as a stack file writes them (before the loader's defaults). */
interface ServiceSettings {
  version: string;
  health?: Record<string, unknown>;
  [setting: string]: unknown;
}

/** `services` as a stack file writes it: both stacks set ems and sms. */
type ServicesValue = Record<string, ServiceSettings>;

/** `traefik` or `postgres` as a stack file writes it (possibly unset). */
type SectionValue = { image?: string; [setting: string]: unknown } | undefined;

/** The config with one key's value changed; V is that value as the stack file writes it. */
function edit<V>(config: Record<string, string>, key: string, change: (value: V) => unknown): Record<string, string> {
  const full = `ems-infra:${key}`;
  const value =
    config[full] === undefined ? undefined : /^[[{]/.test(config[full]) ? JSON.parse(config[full]) : config[full];
  const next = change(value as V);
  return { ...config, [full]: typeof next === "string" ? next : JSON.stringify(next) };
}

export interface TypicalChange {
  name: string;
  description: string;
  apply(config: Record<string, string>, stack: Stack): Record<string, string>;
}

/** The tag with its last number one higher: 1.2.1 → 1.2.2, traefik:v3.6.1 → traefik:v3.6.2; dev's `latest` → 1.0.0. */
function bumpTag(tag: string): string {
  if (tag === "latest") return "1.0.0";
  const m = /^(.*?)(\d+)(\D*)$/.exec(tag);
  if (!m) throw new Error(`bumpTag: no number in ${tag}`);
  return `${m[1]}${Number(m[2]) + 1}${m[3]}`;
}

/** The Traefik image of a config (its default when the stack file does not set one). */
const traefikImage = (t: SectionValue) => t?.image ?? "traefik:v3.6.1";

export const CHANGES: TypicalChange[] = [
  {
    name: "ems-version",
    description: "EMS version bump (services.ems.version: last number + 1; dev latest → 1.0.0)",
    apply: (c) =>
      edit<ServicesValue>(c, "services", (s) => ({ ...s, ems: { ...s.ems, version: bumpTag(s.ems.version) } })),
  },
  {
    name: "sms-version",
    description: "SMS version bump (services.sms.version: last number + 1; dev latest → 1.0.0)",
    apply: (c) =>
      edit<ServicesValue>(c, "services", (s) => ({ ...s, sms: { ...s.sms, version: bumpTag(s.sms.version) } })),
  },
  {
    name: "traefik-image",
    description: "Traefik image change (traefik.image: last number + 1)",
    apply: (c) => edit<SectionValue>(c, "traefik", (t) => ({ ...t, image: bumpTag(traefikImage(t)) })),
  },
  {
    name: "postgres-password",
    description: "Rotated secret: postgresPassword set to a new value",
    apply: (c) => ({ ...c, "ems-infra:postgresPassword": "bench-Postgres-Password-0002" }),
  },
  {
    name: "postgres-memory",
    description: "Memory limit change (postgres.memoryMb 1024 → 1536)",
    apply: (c) => edit<SectionValue>(c, "postgres", (p) => ({ ...p, memoryMb: 1536 })),
  },
  {
    name: "ems-health-interval",
    description: "Healthcheck change (services.ems.health.intervalSeconds 60 → 90)",
    apply: (c) =>
      edit<ServicesValue>(c, "services", (s) => ({
        ...s,
        ems: { ...s.ems, health: { ...s.ems.health, intervalSeconds: 90 } },
      })),
  },
  {
    name: "traefik-rate-limit",
    description: "Traefik rate limit change (traefik.rateLimit 100/200 → 50/100): a dynamic file on the host",
    apply: (c) =>
      edit<SectionValue>(c, "traefik", (t) => ({
        ...t,
        image: traefikImage(t),
        rateLimit: { average: 50, burst: 100 },
      })),
  },
  {
    name: "new-domain",
    description: "New domain (prod edumigsoft.com.br → edumigsoft.com, dev local → test)",
    apply: (c, stack) => ({ ...c, "ems-infra:domain": stack === "prod" ? "edumigsoft.com" : "test" }),
  },
  {
    name: "new-database",
    description: "A new database for SMS (services.sms.database sms_v2)",
    apply: (c) => edit<ServicesValue>(c, "services", (s) => ({ ...s, sms: { ...s.sms, database: "sms_v2" } })),
  },
  {
    name: "new-service",
    description: "A third API (services.crm version 1.0.0, port 8080)",
    apply: (c) => edit<ServicesValue>(c, "services", (s) => ({ ...s, crm: { version: "1.0.0", port: 8080 } })),
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

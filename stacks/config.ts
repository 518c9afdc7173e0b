import * as os from "os";
import * as path from "path";
import { ConfigError, describeIssue, isRecord } from "./configErrors";
import {
  PROJECT,
  SECRET_KEYS,
  rawSchema,
  secretsSchema,
  serviceSchema,
  serviceSecretsSchema,
  swarmSchema,
  tlsSchema,
} from "./configSchema";
import { z } from "zod";
import { postgresMajor } from "../components/imageRef";
import { databaseNameProblem, hostNameProblem, pathProblem, roleNameProblem } from "./grammar";
import { checkSwarm } from "./swarmRules";

export { ConfigError } from "./configErrors";
export { PROJECT, SECRET_KEYS } from "./configSchema";
type RawConfig = z.infer<typeof rawSchema>;
type ServiceConfig = z.infer<typeof serviceSchema>;
type TlsConfig = z.infer<typeof tlsSchema>;

/** Plain-text secrets as read from config; they are wrapped in `pulumi.secret` by the stack before use. */
interface SecretValues {
  ghcrToken?: string;
  postgresPassword?: string;
  serviceSecrets: Record<string, ServiceSecretValues>;
  dashboardPassword?: string;
  portainerPassword?: string;
  /** The off-site repository: absent, the off-site copy is off. */
  backupOffsite?: { repository: string; password: string; env: Record<string, string> };
}

type ServiceSecretValues = z.infer<typeof serviceSecretsSchema>;

export interface ResolvedService extends ServiceConfig {
  name: string;
  /** Repository of the image (no tag). */
  image: string;
  host: string;
  database: string;
  role: string;
  uploadsHostPath: string;
  logsHostPath: string;
}

type SwarmConfig = z.infer<typeof swarmSchema>;
export type SwarmNode = SwarmConfig["nodes"][number];

export interface StackConfig extends Omit<RawConfig, "services" | "paths" | "traefik" | "portainer" | "socketProxy"> {
  stack: string;
  paths: { data: string; secrets?: string; uploads: string; logs: string; backups: string };
  traefik: Omit<RawConfig["traefik"], "dashboard" | "dynamicDir" | "listen" | "systems"> & {
    dynamicDir: string;
    dashboard: RawConfig["traefik"]["dashboard"] & { host: string };
    listen: string[];
    systems: string[];
  };
  portainer: RawConfig["portainer"] & { host: string; public: boolean };
  socketProxy: { image: string; containerName: string; network: string };
  services: ResolvedService[];
  secrets: SecretValues;
}

/** The stack's config as Pulumi hands it to the program: full keys (`ems-infra:domain`) to raw strings. */
export type RawStackConfig = Record<string, string>;

/**
 * Validates a stack's config and returns it resolved (defaults applied, paths absolute).
 * Throws one ConfigError listing every bad key.
 */
export function parseStackConfig(
  stack: string,
  raw: RawStackConfig,
  secretKeys: ReadonlySet<string>,
  home = os.homedir(),
  cwd = process.cwd(),
): StackConfig {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  const secretNames = new Set<string>(SECRET_KEYS);

  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    // Credentials are text as given (a token of digits stays a string); serviceSecrets is a JSON object.
    const value = secretNames.has(key) && key !== "serviceSecrets" && key !== "backupOffsite" ? text : decode(text);
    if (secretNames.has(key)) {
      if (!secretKeys.has(fullKey)) {
        problems.push(
          `${fullKey}: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ${fullKey} <value> --stack ${stack}`,
        );
      }
      secrets[key] = value;
    } else {
      values[key] = value;
    }
  }

  const parsed = rawSchema.safeParse(values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, values, stack));
  }
  const secretValues = parseSecrets(secrets, problems, stack);
  // The production rules read the raw values, so they are reported together with the schema's problems.
  if (values.environment === "production") checkProduction(values, stack, secrets, problems);
  if (values.environment === "development" && isRecord(values.tls) && values.tls.mode === "acme")
    problems.push(
      `${PROJECT}:tls.mode: must be "mkcert" in development: ACME asks Let's Encrypt for public certificates, which only a production stack on a public server may do`,
    );
  checkSwarm(values, problems);
  if (!parsed.success) throw new ConfigError(problems);

  const cfg = parsed.data;
  checkPostgresMajor(cfg, values, problems);
  checkExposure(cfg, problems);
  for (const name of Object.keys(secretValues.serviceSecrets)) {
    if (!(name in cfg.services))
      problems.push(`${PROJECT}:serviceSecrets.${name}: names no service in ${PROJECT}:services`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const resolve = (p: string) => resolveHostPath(p, home, cwd);
  const data = resolve(cfg.paths.data);
  const services = Object.entries(cfg.services).map(([name, s]): ResolvedService => ({
    ...s,
    name,
    image:
      s.image ??
      `${cfg.registry.server}/${cfg.registry.namespace}/${cfg.registry.repository.replace(/\{service\}/g, name)}`,
    host: s.host ?? `api.${name}.${cfg.domain}`,
    database: s.database ?? defaultDatabase(name, cfg.environment),
    role: s.role ?? defaultRole(name),
    uploadsHostPath: resolve(s.uploadsHostPath ?? path.posix.join(data, "uploads", name)),
    logsHostPath: resolve(s.logsHostPath ?? path.posix.join(data, "logs", name)),
  }));
  checkServices(services, cfg, problems);
  checkRouterHosts(services, cfg, problems);
  for (const name of Object.keys(cfg.migration?.from.uploads ?? {})) {
    if (!(name in cfg.services))
      problems.push(
        `${PROJECT}:migration.from.uploads.${name}: names no service in ${PROJECT}:services (its uploads would never be copied)`,
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const tls: TlsConfig =
    cfg.tls.mode === "mkcert"
      ? { ...cfg.tls, certsDir: resolve(cfg.tls.certsDir) }
      : { ...cfg.tls, storageDir: resolve(cfg.tls.storageDir) };
  const migration = cfg.migration && {
    from: {
      letsencrypt: cfg.migration.from.letsencrypt && resolve(cfg.migration.from.letsencrypt),
      uploads: Object.fromEntries(Object.entries(cfg.migration.from.uploads).map(([k, v]) => [k, resolve(v)])),
    },
  };
  const traefik = {
    ...cfg.traefik,
    dynamicDir: resolve(cfg.traefik.dynamicDir ?? path.posix.join(data, "traefik", "dynamic")),
    dashboard: { ...cfg.traefik.dashboard, host: cfg.traefik.dashboard.host ?? `traefik.${cfg.domain}` },
    listen: traefikListen(cfg),
    systems: cfg.traefik.systems ?? [cfg.system],
  };
  const portainer = {
    ...cfg.portainer,
    host: cfg.portainer.host ?? `portainer.${cfg.domain}`,
    public: portainerPublic(cfg),
  };
  const socketProxyName = cfg.socketProxy.containerName ?? "infra_socket_proxy";
  const socketProxy = {
    image: cfg.socketProxy.image,
    containerName: socketProxyName,
    network: `${socketProxyName}_net`,
  };
  const ssh = cfg.ssh && {
    ...cfg.ssh,
    identityFile: cfg.ssh.identityFile && resolve(cfg.ssh.identityFile),
    knownHostsFile: resolve(cfg.ssh.knownHostsFile),
  };

  const swarm = cfg.swarm && {
    ...cfg.swarm,
    identityFile: cfg.swarm.identityFile && resolve(cfg.swarm.identityFile),
    knownHostsFile: resolve(cfg.swarm.knownHostsFile),
  };

  return {
    ...cfg,
    stack,
    tls,
    ssh,
    swarm,
    traefik,
    portainer,
    socketProxy,
    migration,
    paths: {
      data,
      secrets: cfg.paths.secrets && resolve(cfg.paths.secrets),
      uploads: path.posix.join(data, "uploads"),
      logs: path.posix.join(data, "logs"),
      backups: path.posix.join(data, "backups"),
    },
    services,
    secrets: secretValues,
  };
}

/** Rules across services: one role and one database each, `latest` only for an image built on this machine. */
function checkServices(services: ResolvedService[], cfg: RawConfig, problems: string[]): void {
  const owners = new Map<string, string>();
  for (const s of services) {
    const key = (field: string) => `${PROJECT}:services.${s.name}.${field}`;
    if (s.version === "latest" && (cfg.environment === "production" || s.imageSource !== "local")) {
      problems.push(
        `${key("version")}: must be a pinned version, not \`latest\`${cfg.environment === "production" ? "" : " (only an image built on this machine, imageSource: local, may run latest)"}`,
      );
    }
    if (cfg.environment === "production" && s.imageSource === "local")
      problems.push(`${key("imageSource")}: must be "registry" in production (the VPS runs published images)`);
    for (const [kind, value] of [
      ["role", s.role],
      ["database", s.database],
    ] as const) {
      // A value set by hand was checked by the schema; a default built from the service name is checked here.
      const derivedProblem =
        cfg.services[s.name][kind] === undefined && (kind === "role" ? roleNameProblem : databaseNameProblem)(value);
      if (derivedProblem) {
        problems.push(`${key(kind)}: the default ${kind} of service ${s.name}, ${derivedProblem}; set ${key(kind)}`);
        continue;
      }
      if (value === cfg.postgres.user)
        problems.push(
          `${key(kind)}: "${value}" is the superuser (${PROJECT}:postgres.user); each service gets its own ${kind}`,
        );
      const other = owners.get(`${kind}:${value}`);
      if (other)
        problems.push(`${key(kind)}: "${value}" is already the ${kind} of service ${other}; each service gets its own`);
      owners.set(`${kind}:${value}`, s.name);
    }
  }
}

/**
 * Every router the stack defines (each API, the dashboard and Portainer when they run) has its own host,
 * compared case-insensitively: Traefik would otherwise send one host's requests to either container.
 */
function checkRouterHosts(services: ResolvedService[], cfg: RawConfig, problems: string[]): void {
  const routers: { key: string; host: string; derived: boolean }[] = services.map((s) => ({
    key: `${PROJECT}:services.${s.name}.host`,
    host: s.host,
    derived: cfg.services[s.name].host === undefined,
  }));
  if (cfg.traefik.manage && cfg.traefik.dashboard.enabled) {
    routers.push({
      key: `${PROJECT}:traefik.dashboard.host`,
      host: cfg.traefik.dashboard.host ?? `traefik.${cfg.domain}`,
      derived: cfg.traefik.dashboard.host === undefined,
    });
  }
  if (cfg.traefik.manage && cfg.portainer.enabled) {
    routers.push({
      key: `${PROJECT}:portainer.host`,
      host: cfg.portainer.host ?? `portainer.${cfg.domain}`,
      derived: cfg.portainer.host === undefined,
    });
  }
  const owners = new Map<string, string>();
  for (const r of routers) {
    // A host set by hand was checked by the schema; one built on the domain can still be too long.
    const problem = r.derived ? hostNameProblem(r.host) : undefined;
    if (problem) {
      problems.push(
        `${r.key}: the default host ${r.host.length > 80 ? `${r.host.slice(0, 77)}...` : r.host} ${problem}; set ${r.key} or a shorter ${PROJECT}:domain`,
      );
      continue;
    }
    const other = owners.get(r.host.toLowerCase());
    if (other) problems.push(`${r.key}: "${r.host}" is already the host of ${other}; every router needs its own host`);
    else owners.set(r.host.toLowerCase(), r.key);
  }
}

/** 80/443's host addresses: the laptop's loopback in development, every address in production. */
function traefikListen(cfg: RawConfig): string[] {
  if (cfg.traefik.listen) return cfg.traefik.listen;
  const [v4, v6] = cfg.environment === "production" ? ["0.0.0.0", "::"] : ["127.0.0.1", "::1"];
  return cfg.traefik.ipv6 ? [v4, v6] : [v4];
}

/** Whether Portainer gets a router: on the laptop by default, never in production unless asked. */
function portainerPublic(cfg: RawConfig): boolean {
  return cfg.portainer.public ?? cfg.environment !== "production";
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

/** What may be reached from where: no public Portainer without an allow-list, no open dashboard off the laptop. */
function checkExposure(cfg: RawConfig, problems: string[]): void {
  const loopbackOnly = traefikListen(cfg).every((a) => LOOPBACK.test(a));
  if (cfg.traefik.manage && cfg.portainer.enabled && portainerPublic(cfg) && cfg.portainer.allowFrom.length === 0) {
    if (cfg.environment === "production")
      problems.push(
        `${PROJECT}:portainer.allowFrom: must list the client address ranges (CIDR) allowed in when ${PROJECT}:portainer.public is true in production (Portainer holds the Docker socket); or leave it private and use npm run tunnel`,
      );
    else if (!loopbackOnly)
      problems.push(
        `${PROJECT}:portainer.allowFrom: must list the client address ranges (CIDR) allowed in: ${PROJECT}:traefik.listen reaches beyond this machine`,
      );
  }
  if (cfg.environment === "development" && cfg.traefik.dashboard.enabled && !loopbackOnly)
    problems.push(
      `${PROJECT}:traefik.dashboard.enabled: the development dashboard has no password and ${PROJECT}:traefik.listen reaches beyond this machine (${traefikListen(cfg).join(", ")}); turn the dashboard off or listen on 127.0.0.1/::1 only`,
    );
}

/**
 * The image's major must match the data volume's; an image pinned by digest alone names no major, so the
 * volume's is then declared (`postgres.dataVersion` set by hand) instead of taken from the default.
 */
function checkPostgresMajor(cfg: RawConfig, values: Record<string, unknown>, problems: string[]): void {
  const major = postgresMajor(cfg.postgres.image);
  const declared = isRecord(values.postgres) && values.postgres.dataVersion !== undefined;
  if (major === undefined && !declared)
    problems.push(
      `${PROJECT}:postgres.dataVersion: must be set when ${PROJECT}:postgres.image names no major version (${cfg.postgres.image}): the major-version guard compares the two`,
    );
  if (major !== undefined && major !== cfg.postgres.dataVersion) {
    problems.push(
      `${PROJECT}:postgres.image: major version ${major} cannot open the data volume of PostgreSQL ${cfg.postgres.dataVersion} ` +
        `(${PROJECT}:postgres.dataVersion); a major upgrade is dump, new volume, restore: follow "Upgrading PostgreSQL" in the README`,
    );
  }
}

/**
 * Production-only rules, on the raw (not yet validated) values: a value of the wrong shape is skipped here
 * (the schema reports it), so they can run, and be reported, whether or not the schema passed.
 */
function checkProduction(
  values: Record<string, unknown>,
  stack: string,
  secrets: Record<string, unknown>,
  problems: string[],
): void {
  const at = (...keys: string[]): unknown =>
    keys.reduce<unknown>((node, k) => (isRecord(node) ? node[k] : undefined), values);
  const entries = (...keys: string[]): [string, unknown][] => {
    const node = at(...keys);
    return isRecord(node) ? Object.entries(node) : [];
  };
  const abs = (key: string, p: unknown) => {
    // A path the schema refuses (a newline, a quote) is reported once, by the schema, and never echoed.
    if (typeof p === "string" && pathProblem({ relative: true })(p) === undefined && !p.startsWith("/"))
      problems.push(`${PROJECT}:${key}: must be an absolute path in production (got "${p}")`);
  };
  abs("paths.data", at("paths", "data"));
  abs("paths.secrets", at("paths", "secrets"));
  if (at("tls", "mode") === "acme") abs("tls.storageDir", at("tls", "storageDir"));
  else if (at("tls", "mode") === "mkcert")
    problems.push(`${PROJECT}:tls.mode: must be "acme" in production (mkcert certificates are for .local domains)`);
  for (const [name, s] of entries("services")) {
    if (!isRecord(s)) continue;
    abs(`services.${name}.uploadsHostPath`, s.uploadsHostPath);
    abs(`services.${name}.logsHostPath`, s.logsHostPath);
  }
  abs("migration.from.letsencrypt", at("migration", "from", "letsencrypt"));
  for (const [name, p] of entries("migration", "from", "uploads")) abs(`migration.from.uploads.${name}`, p);
  if (secrets.ghcrToken === undefined) {
    problems.push(
      `${PROJECT}:ghcrToken: missing secret (GHCR read:packages token); set it with: pulumi config set --secret ${PROJECT}:ghcrToken <token> --stack ${stack}`,
    );
  }
  if (at("traefik", "dashboard", "enabled") === true && secrets.dashboardPassword === undefined) {
    problems.push(
      `${PROJECT}:dashboardPassword: missing secret (the dashboard is on); set it with: pulumi config set --secret ${PROJECT}:dashboardPassword <password> --stack ${stack}`,
    );
  }
}

/** The credentials, validated; a bad one is reported by key and rule, never by value. */
function parseSecrets(secrets: Record<string, unknown>, problems: string[], stack: string): SecretValues {
  const parsed = secretsSchema.safeParse(secrets);
  if (parsed.success) return parsed.data;
  // Never echo a secret's value back: only its key and the rule it breaks.
  for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, secrets, stack, true));
  return { serviceSecrets: {} };
}

/** Config values arrive as strings; objects, lists, numbers and booleans as JSON. */
function decode(text: string): unknown {
  const t = text.trim();
  if (/^[[{]/.test(t) || /^-?\d+(\.\d+)?$/.test(t) || t === "true" || t === "false") {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

/** A host path from config, absolute: `~` is the user's home, a relative path starts at the project folder. */
export function resolveHostPath(p: string, home: string, cwd: string): string {
  if (p === "~" || p.startsWith("~/")) return path.posix.join(home, p.slice(1));
  return path.posix.resolve(cwd, p);
}

/** A service's database when `database` is not set: `<service>_production` in production (the VPS's names), `<service>` otherwise. */
export function defaultDatabase(service: string, environment: string): string {
  return `${service.replace(/-/g, "_")}${environment === "production" ? "_production" : ""}`;
}

/** A service's login role when `role` is not set: `<service>_user`, as on the VPS. */
export function defaultRole(service: string): string {
  return `${service.replace(/-/g, "_")}_user`;
}

import * as os from "os";
import * as path from "path";
import { z } from "zod";

/** The `name` in Pulumi.yaml: every config key is `<PROJECT>:<key>`. */
export const PROJECT = "ems-infra";

/** Keys that hold credentials: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["ghcrToken", "postgresPassword", "serviceSecrets", "sshPrivateKey", "dashboardPassword"] as const;

const NAME = /^[a-z][a-z0-9_]*$/;
const DB_NAME = /^[a-z_][a-z0-9_]*$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CRON = /^(\S+\s+){4}\S+$/;

const positiveMb = (min: number) => z.number().int().min(min, `must be at least ${min} (MiB)`);
/** A text setting that must not be "" (the first check: a longer rule is not reported on top of it). */
const nonEmpty = () => z.string().min(1, { message: "must not be empty", abort: true });
const port = z.number().int().min(1, "must be a port number from 1 to 65535").max(65535, "must be a port number from 1 to 65535");

/** An image reference `repo:tag` or `repo@sha256:...` whose tag is pinned (never `latest`, never missing). */
const pinnedImage = z.string().refine(isPinnedImage, {
  message: "must name a pinned tag or digest (e.g. postgres:16.6), never `latest` or no tag",
});

export function isPinnedImage(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true;
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon <= slash) return false;
  const tag = image.slice(colon + 1);
  return IMAGE_TAG.test(tag) && tag !== "latest";
}

const version = nonEmpty()
  .regex(IMAGE_TAG, "must be a valid image tag")
  .refine((v) => v !== "latest", "must be a pinned version, not `latest`");

const serviceSchema = z
  .object({
    /** Image tag deployed (e.g. `1.4.2`). */
    version,
    /** Image repository; defaults to `<registry.server>/<registry.namespace>/<service>`. */
    image: nonEmpty()
      .refine((image) => !/[:@]/.test(image.slice(image.lastIndexOf("/") + 1)), "must be a repository without a tag or digest: the tag is the service's version")
      .optional(),
    /** Port the API listens on inside the container. */
    port: port.default(8080),
    /** HTTP path answered with 2xx when the API is healthy. */
    healthPath: z.string().startsWith("/", "must start with /").default("/health"),
    /** Full public host name; defaults to `api.<service>.<domain>`. */
    host: nonEmpty().optional(),
    /** Database the service uses; defaults to the service name. */
    database: z.string().regex(DB_NAME, "must be a lower-case SQL identifier").optional(),
    /** Memory limit of the container. */
    memoryMb: positiveMb(64).default(512),
    /** Host folder mounted at the container's uploads folder (the seed's UPLOADS_HOST_PATH). */
    uploadsHostPath: nonEmpty().optional(),
    /** Host folder mounted at the container's logs folder (the seed's LOGS_HOST_PATH). */
    logsHostPath: nonEmpty().optional(),
    /** Where the API writes uploads inside the container. */
    uploadsDir: z.string().startsWith("/", "must be an absolute container path").default("/app/uploads"),
    /** Where the API writes logs inside the container. */
    logsDir: z.string().startsWith("/", "must be an absolute container path").default("/app/logs"),
    /** Extra non-secret environment variables. */
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const tlsSchema = z.discriminatedUnion("mode", [
  z
    .object({
      mode: z.literal("mkcert"),
      /** Folder holding local.pem / local-key.pem (the seed's servers/infra/certs). */
      certsDir: z.string().min(1, "must not be empty"),
    })
    .strict(),
  z
    .object({
      mode: z.literal("acme"),
      /** Let's Encrypt account e-mail. */
      email: z.email("must be an e-mail address"),
      /** Folder holding acme.json, shared by every system on the host. */
      storageDir: z.string().min(1, "must not be empty"),
    })
    .strict(),
]);

const rawSchema = z
  .object({
    environment: z.enum(["development", "production"], { error: (issue) => (issue.input === undefined ? undefined : `must be "development" or "production"`) }),
    system: z.string().regex(NAME, "must be a lower-case name like ems_system").default("ems_system"),
    domain: z.string().trim().min(1, "must not be empty"),
    paths: z
      .object({
        /** Root of uploads/, logs/ and backups/ (seed: .dev-data or /root/<system>/data). */
        data: z.string().min(1, "must not be empty"),
        /** Folder for credentials on the host (mode 700); prod only. */
        secrets: nonEmpty().optional(),
      })
      .strict(),
    tls: tlsSchema,
    docker: z.object({ host: nonEmpty().optional() }).strict().default({}),
    ssh: z
      .object({
        host: z.string().min(1, "must not be empty"),
        user: nonEmpty().default("root"),
        port: port.default(22),
      })
      .strict()
      .optional(),
    registry: z
      .object({
        server: nonEmpty()
          .regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a registry host name like ghcr.io (no scheme, no path)")
          .default("ghcr.io"),
        namespace: nonEmpty()
          .regex(/^[a-z0-9._/-]+$/, "must be a lower-case registry namespace like edumigsoft")
          .default("edumigsoft"),
        username: nonEmpty().default("edumigsoft"),
      })
      .strict()
      .default({ server: "ghcr.io", namespace: "edumigsoft", username: "edumigsoft" }),
    traefik: z
      .object({
        image: pinnedImage.default("traefik:v3.3.5"),
        /** Docker network shared by Traefik and every routed container. */
        network: nonEmpty().default("proxy"),
        /** false on a second system of the same host: its Traefik is already there. */
        manage: z.boolean().default(true),
        dashboard: z.boolean().default(false),
        memoryMb: positiveMb(32).default(256),
        rateLimit: z
          .object({ average: z.number().int().positive("must be greater than 0"), burst: z.number().int().positive("must be greater than 0") })
          .strict()
          .default({ average: 100, burst: 200 }),
      })
      .strict()
      .default({
        image: "traefik:v3.3.5",
        network: "proxy",
        manage: true,
        dashboard: false,
        memoryMb: 256,
        rateLimit: { average: 100, burst: 200 },
      }),
    postgres: z
      .object({
        image: pinnedImage.default("postgres:16.6"),
        user: z.string().regex(DB_NAME, "must be a lower-case SQL identifier").default("ems"),
        memoryMb: positiveMb(128).default(1024),
        /** Name of the data volume; set it to the old compose volume's name to keep its data on migration. */
        volume: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]+$/, "must be a Docker volume name").optional(),
        /** Major version the data volume was initialised with; the image's major must match it. */
        dataVersion: z.number().int().min(9, "must be a PostgreSQL major version (9 or later)").default(16),
        /** Refuses to publish Postgres on the host: it stays on the internal network. */
        hostPort: z.undefined({ error: "Postgres is never published on a host port" }).optional(),
      })
      .strict()
      .default({ image: "postgres:16.6", user: "ems", memoryMb: 1024, dataVersion: 16 }),
    services: z
      .record(z.string().regex(SERVICE_NAME, "is not a valid service name: lower-case letters, digits and dashes, starting with a letter (like ems or ems-api)"), serviceSchema)
      .refine((s) => Object.keys(s).length > 0, "must list at least one service"),
    backup: z
      .object({
        schedule: z.string().regex(CRON, "must be a 5-field cron expression").default("0 3 * * *"),
        keepDaily: z.number().int().min(1, "must be at least 1 (the newest backup is always kept)").default(14),
        keepWeekly: z.number().int().min(0, "must be 0 or more").default(8),
      })
      .strict()
      .default({ schedule: "0 3 * * *", keepDaily: 14, keepWeekly: 8 }),
    migration: z
      .object({
        from: z
          .object({
            letsencrypt: nonEmpty().optional(),
            uploads: z.record(z.string(), nonEmpty()).default({}),
          })
          .strict(),
      })
      .strict()
      .optional(),
  })
  .strict();

type RawConfig = z.infer<typeof rawSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type TlsConfig = z.infer<typeof tlsSchema>;

/** Plain-text secrets as read from config; they are wrapped in `pulumi.secret` by the stack before use. */
export interface SecretValues {
  ghcrToken?: string;
  postgresPassword?: string;
  serviceSecrets: Record<string, { jwtKey?: string; apiKey?: string }>;
  sshPrivateKey?: string;
  dashboardPassword?: string;
}

export interface ResolvedService extends ServiceConfig {
  name: string;
  image: string;
  host: string;
  database: string;
  uploadsHostPath: string;
  logsHostPath: string;
}

export interface StackConfig extends Omit<RawConfig, "services" | "paths"> {
  stack: string;
  paths: { data: string; secrets?: string; uploads: string; logs: string; backups: string };
  services: ResolvedService[];
  secrets: SecretValues;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** The stack's config as Pulumi hands it to the program: full keys (`ems-infra:domain`) to raw strings. */
export type RawStackConfig = Record<string, string>;

/**
 * Validates a stack's config and returns it resolved (defaults applied, paths absolute).
 * Throws one ConfigError listing every bad key.
 */
export function parseStackConfig(stack: string, raw: RawStackConfig, secretKeys: ReadonlySet<string>, home = os.homedir(), cwd = process.cwd()): StackConfig {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  const secretNames = new Set<string>(SECRET_KEYS);

  for (const [fullKey, text] of Object.entries(raw)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    // Credentials are text as given (a token of digits stays a string); serviceSecrets is a JSON object.
    const value = secretNames.has(key) && key !== "serviceSecrets" ? text : decode(text);
    if (secretNames.has(key)) {
      if (!secretKeys.has(fullKey)) {
        problems.push(`${fullKey}: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ${fullKey} <value> --stack ${stack}`);
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
  if (!parsed.success) throw new ConfigError(problems);

  const cfg = parsed.data;
  checkPostgresMajor(cfg, problems);
  for (const name of Object.keys(secretValues.serviceSecrets)) {
    if (!(name in cfg.services)) problems.push(`${PROJECT}:serviceSecrets.${name}: names no service in ${PROJECT}:services`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const resolve = (p: string) => resolveHostPath(p, home, cwd);
  const data = resolve(cfg.paths.data);
  const services = Object.entries(cfg.services).map(([name, s]): ResolvedService => ({
    ...s,
    name,
    image: s.image ?? `${cfg.registry.server}/${cfg.registry.namespace}/${name}`,
    host: s.host ?? `api.${name}.${cfg.domain}`,
    database: s.database ?? name.replace(/-/g, "_"),
    uploadsHostPath: resolve(s.uploadsHostPath ?? path.posix.join(data, "uploads", name)),
    logsHostPath: resolve(s.logsHostPath ?? path.posix.join(data, "logs", name)),
  }));
  const tls: TlsConfig = cfg.tls.mode === "mkcert" ? { ...cfg.tls, certsDir: resolve(cfg.tls.certsDir) } : { ...cfg.tls, storageDir: resolve(cfg.tls.storageDir) };
  const migration = cfg.migration && {
    from: {
      letsencrypt: cfg.migration.from.letsencrypt && resolve(cfg.migration.from.letsencrypt),
      uploads: Object.fromEntries(Object.entries(cfg.migration.from.uploads).map(([k, v]) => [k, resolve(v)])),
    },
  };

  return {
    ...cfg,
    stack,
    tls,
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

/** The major version in a Postgres image tag (`postgres:16.6-alpine` → 16), if the tag starts with one. */
export function postgresMajor(image: string): number | undefined {
  const match = /:(\d+)(?:[.-]|$)/.exec(image.slice(image.lastIndexOf("/") + 1));
  return match ? Number(match[1]) : undefined;
}

function checkPostgresMajor(cfg: RawConfig, problems: string[]): void {
  const major = postgresMajor(cfg.postgres.image);
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
function checkProduction(values: Record<string, unknown>, stack: string, secrets: Record<string, unknown>, problems: string[]): void {
  const at = (...keys: string[]): unknown => keys.reduce<unknown>((node, k) => (isRecord(node) ? node[k] : undefined), values);
  const entries = (...keys: string[]): [string, unknown][] => {
    const node = at(...keys);
    return isRecord(node) ? Object.entries(node) : [];
  };
  const abs = (key: string, p: unknown) => {
    if (typeof p === "string" && p !== "" && !p.startsWith("/")) problems.push(`${PROJECT}:${key}: must be an absolute path in production (got "${p}")`);
  };
  abs("paths.data", at("paths", "data"));
  abs("paths.secrets", at("paths", "secrets"));
  if (at("tls", "mode") === "acme") abs("tls.storageDir", at("tls", "storageDir"));
  else if (at("tls", "mode") === "mkcert") problems.push(`${PROJECT}:tls.mode: must be "acme" in production (mkcert certificates are for .local domains)`);
  for (const [name, s] of entries("services")) {
    if (!isRecord(s)) continue;
    abs(`services.${name}.uploadsHostPath`, s.uploadsHostPath);
    abs(`services.${name}.logsHostPath`, s.logsHostPath);
  }
  abs("migration.from.letsencrypt", at("migration", "from", "letsencrypt"));
  for (const [name, p] of entries("migration", "from", "uploads")) abs(`migration.from.uploads.${name}`, p);
  if (secrets.ghcrToken === undefined) {
    problems.push(`${PROJECT}:ghcrToken: missing secret (GHCR read:packages token); set it with: pulumi config set --secret ${PROJECT}:ghcrToken <token> --stack ${stack}`);
  }
  if (at("traefik", "dashboard") === true && secrets.dashboardPassword === undefined) {
    problems.push(`${PROJECT}:dashboardPassword: missing secret (the dashboard is on); set it with: pulumi config set --secret ${PROJECT}:dashboardPassword <password> --stack ${stack}`);
  }
}

const secretString = nonEmpty();
const secretsSchema = z
  .object({
    ghcrToken: secretString.optional(),
    postgresPassword: secretString.min(12, "must be at least 12 characters").optional(),
    serviceSecrets: z
      .record(z.string(), z.object({ jwtKey: secretString.min(32, "must be at least 32 characters").optional(), apiKey: secretString.min(16, "must be at least 16 characters").optional() }).strict())
      .default({}),
    sshPrivateKey: secretString.optional(),
    dashboardPassword: secretString.min(12, "must be at least 12 characters").optional(),
  })
  .strict();

function parseSecrets(secrets: Record<string, unknown>, problems: string[], stack: string): SecretValues {
  const parsed = secretsSchema.safeParse(secrets);
  if (parsed.success) return parsed.data;
  // Never echo a secret's value back: only its key and the rule it breaks.
  for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, secrets, stack, true));
  return { serviceSecrets: {} };
}

function isRecord(value: unknown): value is Record<string, unknown> {
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
function describeIssue(issue: z.core.$ZodIssue, root: Record<string, unknown>, stack: string, redact = false): string[] {
  const key = `${PROJECT}:${issue.path.map(String).join(".")}`;
  const actual = issue.path.reduce<unknown>((node, k) => (isRecord(node) ? node[String(k)] : undefined), root);
  // A required choice (environment) left out: zod reports it as a value not among the options.
  if (issue.code === "invalid_value" && actual === undefined) return [`${key}: is required but not set`];
  if (issue.code === "invalid_type") {
    if (actual === undefined) return [`${key}: is required but not set`];
    // A rule's own message (e.g. postgres.hostPort's) says it better than the type names.
    if (!issue.message.startsWith("Invalid input")) return [`${key}: ${issue.message}`];
    const expected = EXPECTED[issue.expected] ?? issue.expected;
    if (issue.expected === "string" && (typeof actual === "number" || typeof actual === "boolean") && issue.path.length > 1) {
      // YAML reads an unquoted 1.5 or 1.10 as a number (1.10 becomes 1.1): only quotes keep the text.
      const field = String(issue.path[issue.path.length - 1]);
      const example = redact ? "" : `, e.g. ${field}: "${String(actual)}"`;
      return [`${key}: must be a string, got ${kindOf(actual)}${redact ? "" : ` (${String(actual)})`}; quote it in Pulumi.${stack}.yaml${example}`];
    }
    // 80.5 for a port: "must be a whole number, got a number" would not say what is wrong.
    if (issue.expected === "int" && typeof actual === "number") return [`${key}: must be a whole number${redact ? "" : `, got ${actual}`}`];
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

export function resolveHostPath(p: string, home: string, cwd: string): string {
  if (p === "~" || p.startsWith("~/")) return path.posix.join(home, p.slice(1));
  return path.posix.resolve(cwd, p);
}

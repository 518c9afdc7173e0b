/**
 * The config validator: bad configs and the exact problems they are refused with — through
 * `parseStackConfig` alone (pure), and through a whole stack run, which must stop with a pulumi.RunError
 * (message only, no stack trace) before any resource is registered.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { committedConfig, TEST_SECRETS } from "../support";
import { runErrorMessage, runFailingStack, withValue } from "../stacks/helpers";

/** The secrets prod requires (the GHCR token; the dashboard's password, as the dashboard is on). */
const PROD_SECRETS: Record<string, string> = { ...TEST_SECRETS };
const TOKEN_KEYS = Object.keys(PROD_SECRETS);
const prod = (): Record<string, string> => ({ ...committedConfig("prod"), ...PROD_SECRETS });
const dev = (): Record<string, string> => committedConfig("dev");
const MISSING_TOKEN =
  "ems-infra:ghcrToken: missing secret (GHCR read:packages token); set it with: pulumi config set --secret ems-infra:ghcrToken <token> --stack prod";
const MISSING_DASHBOARD_PASSWORD =
  "ems-infra:dashboardPassword: missing secret (the dashboard is on); set it with: pulumi config set --secret ems-infra:dashboardPassword <password> --stack prod";

/** The problems parseStackConfig refuses a config with ([] when it accepts it). */
function problemsOf(stack: string, config: Record<string, string>, secretKeys: string[] = TOKEN_KEYS): string[] {
  try {
    parseStackConfig(stack, config, new Set(secretKeys), "/home/dev", "/work/repo");
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

/** The committed prod file with one line's text replaced, read as Pulumi reads it (objects as JSON). */
function prodYamlWith(from: string, to: string): Record<string, string> {
  const text = fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.prod.yaml"), "utf8");
  expect(text).toContain(from);
  const file = YAML.parse(text.replace(from, to)) as { config: Record<string, unknown> };
  return {
    ...Object.fromEntries(
      Object.entries(file.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    ),
    ...PROD_SECRETS,
  };
}

/** A stack config with one key removed: a top-level key (`path` []) or a nested field. */
function without(config: Record<string, string>, key: string, path: string[] = []): Record<string, string> {
  const full = `ems-infra:${key}`;
  if (path.length === 0) {
    const { [full]: _removed, ...rest } = config;
    return rest;
  }
  return withValue(config, key, path, undefined);
}

interface BadConfig {
  name: string;
  stack: "dev" | "prod";
  config: () => Record<string, string>;
  secretKeys?: string[];
  problems: string[];
}

const BAD: BadConfig[] = [
  {
    name: "prod refuses relative host paths",
    stack: "prod",
    config: () => {
      let c = withValue(prod(), "paths", ["data"], "data");
      c = withValue(c, "paths", ["secrets"], "./.secrets");
      c = withValue(c, "tls", ["storageDir"], "letsencrypt");
      c = withValue(c, "services", ["ems", "uploadsHostPath"], "~/uploads/ems");
      return c;
    },
    problems: [
      'ems-infra:paths.data: must be an absolute path in production (got "data")',
      'ems-infra:paths.secrets: must be an absolute path in production (got "./.secrets")',
      'ems-infra:tls.storageDir: must be an absolute path in production (got "letsencrypt")',
      'ems-infra:services.ems.uploadsHostPath: must be an absolute path in production (got "~/uploads/ems")',
    ],
  },
  {
    name: "a service version `latest` is refused",
    stack: "prod",
    config: () => withValue(prod(), "services", ["ems", "version"], "latest"),
    problems: ["ems-infra:services.ems.version: must be a pinned version, not `latest`"],
  },
  {
    name: "a service without a version is refused",
    stack: "prod",
    config: () => withValue(prod(), "services", ["sms"], {}),
    problems: ["ems-infra:services.sms.version: is required but not set"],
  },
  {
    name: "Traefik `latest` and a Postgres image without a tag are refused",
    stack: "prod",
    config: () =>
      withValue(withValue(prod(), "traefik", ["image"], "traefik:latest"), "postgres", ["image"], "postgres"),
    problems: [
      "ems-infra:traefik.image: must not use the tag latest (pin a release tag or a digest, e.g. postgres:17.6-alpine)",
      "ems-infra:postgres.image: must name a tag or a digest (pin a release tag or a digest, e.g. postgres:17.6-alpine)",
    ],
  },
  {
    name: "an empty domain is refused",
    stack: "prod",
    config: () => ({ ...prod(), "ems-infra:domain": "" }),
    problems: ["ems-infra:domain: must not be empty"],
  },
  {
    name: "a blank domain is refused",
    stack: "dev",
    config: () => ({ ...dev(), "ems-infra:domain": "   " }),
    problems: ["ems-infra:domain: must not be empty"],
  },
  {
    name: "a bad ACME e-mail is refused",
    stack: "prod",
    config: () => withValue(prod(), "tls", ["email"], "admin-at-edumigsoft.com.br"),
    problems: ["ems-infra:tls.email: must be an e-mail address"],
  },
  {
    name: "prod without the GHCR token names the exact command that sets it",
    stack: "prod",
    config: () => committedConfig("prod"),
    secretKeys: [],
    problems: [MISSING_TOKEN, MISSING_DASHBOARD_PASSWORD],
  },
  {
    name: "prod refuses mkcert certificates",
    stack: "prod",
    config: () => withValue(prod(), "tls", [], { mode: "mkcert", certsDir: "/root/certs" }),
    problems: ['ems-infra:tls.mode: must be "acme" in production (mkcert certificates are for .local domains)'],
  },
  {
    name: "unknown keys (typos) are named, at the top level and nested",
    stack: "prod",
    config: () => ({
      ...withValue(withValue(prod(), "services", ["ems", "verison"], "1.0.1"), "backup", ["keepDialy"], 3),
      "ems-infra:domian": "edumigsoft.com.br",
    }),
    problems: [
      "ems-infra:services.ems.verison: is not a known setting (typo?)",
      "ems-infra:backup.keepDialy: is not a known setting (typo?)",
      "ems-infra:domian: is not a known setting (typo?)",
    ],
  },
  {
    name: "values of the wrong type are named with the type expected",
    stack: "dev",
    config: () => {
      let c = withValue(dev(), "backup", ["keepDaily"], "seven");
      c = withValue(c, "traefik", ["dashboard"], "yes");
      c = withValue(c, "services", ["ems", "port"], "8080");
      return withValue(c, "paths", [], "/data");
    },
    problems: [
      "ems-infra:paths: must be a mapping (key: value), got a string",
      "ems-infra:traefik.dashboard: must be a mapping (key: value), got a string",
      "ems-infra:services.ems.port: must be a number, got a string",
      "ems-infra:backup.keepDaily: must be a number, got a string",
    ],
  },
  {
    name: "an unquoted YAML version (version: 1.5) is named, with how to quote it",
    stack: "prod",
    config: () => prodYamlWith('version: "1.2.1"', "version: 1.5"),
    problems: [
      'ems-infra:services.ems.version: must be a string, got a number (1.5); quote it in Pulumi.prod.yaml, e.g. version: "1.5"',
    ],
  },
  {
    name: "an unknown environment and an unknown TLS mode are refused",
    stack: "dev",
    config: () => withValue({ ...dev(), "ems-infra:environment": "staging" }, "tls", ["mode"], "selfsigned"),
    problems: [
      'ems-infra:environment: must be "development" or "production"',
      'ems-infra:tls.mode: must be "mkcert" or "acme"',
    ],
  },
  {
    name: "Postgres is never published on a host port",
    stack: "prod",
    config: () => withValue(prod(), "postgres", ["hostPort"], 5432),
    problems: ["ems-infra:postgres.hostPort: Postgres is never published on a host port"],
  },
  {
    name: "secrets of the wrong shape are named without echoing them",
    stack: "prod",
    config: () => ({
      ...prod(),
      "ems-infra:postgresPassword": "short-pw",
      "ems-infra:serviceSecrets": JSON.stringify({ ems: { jwtKey: "too-short-jwt", apiKey: 1234567890123456 } }),
    }),
    secretKeys: [...TOKEN_KEYS, "ems-infra:postgresPassword", "ems-infra:serviceSecrets"],
    problems: [
      "ems-infra:postgresPassword: must be at least 12 characters",
      "ems-infra:serviceSecrets.ems.jwtKey: must be at least 16 characters",
      "ems-infra:serviceSecrets.ems.apiKey: must be a string, got a number; quote it in Pulumi.prod.yaml",
    ],
  },
  {
    name: "service secrets for a service that does not exist are refused",
    stack: "prod",
    config: () => ({
      ...prod(),
      "ems-infra:serviceSecrets": JSON.stringify({ crm: { apiKey: "0123456789abcdefghij" } }),
    }),
    secretKeys: [...TOKEN_KEYS, "ems-infra:serviceSecrets"],
    problems: ["ems-infra:serviceSecrets.crm: names no service in ems-infra:services"],
  },
  {
    name: "every problem of a config is listed in one error: schema, production rules and secrets together",
    stack: "prod",
    config: () => {
      let c = withValue(committedConfig("prod"), "paths", ["data"], "data");
      c = withValue(c, "services", ["sms", "healthPath"], "health");
      c = withValue(c, "tls", ["email"], "nope");
      return { ...c, "ems-infra:domain": "", "ems-infra:sytem": "ems_system" };
    },
    secretKeys: [],
    problems: [
      "ems-infra:domain: must not be empty",
      "ems-infra:tls.email: must be an e-mail address",
      "ems-infra:services.sms.healthPath: must start with /",
      "ems-infra:sytem: is not a known setting (typo?)",
      'ems-infra:paths.data: must be an absolute path in production (got "data")',
      MISSING_TOKEN,
      MISSING_DASHBOARD_PASSWORD,
    ],
  },
  // Missing keys: named as not set, at their full path.
  {
    name: "environment is required: it decides whether the production rules apply",
    stack: "dev",
    config: () => without(dev(), "environment"),
    problems: ["ems-infra:environment: is required but not set"],
  },
  {
    name: "domain is required: every public host name is built from it",
    stack: "prod",
    config: () => without(prod(), "domain"),
    problems: ["ems-infra:domain: is required but not set"],
  },
  {
    name: "paths is required: the data folder has no default",
    stack: "dev",
    config: () => without(dev(), "paths"),
    problems: ["ems-infra:paths: is required but not set"],
  },
  {
    name: "tls is required: certificates have no default",
    stack: "prod",
    config: () => without(prod(), "tls"),
    problems: ["ems-infra:tls: is required but not set"],
  },
  {
    name: "a TLS block without a mode is refused, naming the two modes",
    stack: "dev",
    config: () => without(dev(), "tls", ["mode"]),
    problems: ['ems-infra:tls.mode: is required but not set; it must be "mkcert" or "acme"'],
  },
  {
    name: "services is required: a stack deploys at least one API",
    stack: "dev",
    config: () => without(dev(), "services"),
    problems: ["ems-infra:services: is required but not set"],
  },
  {
    name: "an empty services mapping is refused",
    stack: "dev",
    config: () => withValue(dev(), "services", [], {}),
    problems: ["ems-infra:services: must list at least one service"],
  },
  {
    name: "a misspelt key is named as unknown, and the key it stands for as not set",
    stack: "dev",
    config: () => withValue(without(dev(), "tls", ["certsDir"]), "tls", ["certDir"], "~/certs"),
    problems: [
      "ems-infra:tls.certsDir: is required but not set",
      "ems-infra:tls.certDir: is not a known setting (typo?)",
    ],
  },
  // Empty values.
  {
    name: "an empty data folder is refused once, as empty (not also as a relative path)",
    stack: "prod",
    config: () => withValue(prod(), "paths", ["data"], ""),
    problems: ["ems-infra:paths.data: must not be empty"],
  },
  {
    name: "an empty mkcert certificates folder is refused",
    stack: "dev",
    config: () => withValue(dev(), "tls", ["certsDir"], ""),
    problems: ["ems-infra:tls.certsDir: must not be empty"],
  },
  {
    name: "an empty service version is refused once, as empty (not also as a bad tag)",
    stack: "prod",
    config: () => withValue(prod(), "services", ["ems", "version"], ""),
    problems: ["ems-infra:services.ems.version: must not be empty"],
  },
  // Wrong types.
  {
    name: "a number where text is expected is named (domain: 42)",
    stack: "dev",
    config: () => withValue(dev(), "domain", [], 42),
    problems: ["ems-infra:domain: must be a string, got a number"],
  },
  {
    name: "a string where a mapping is expected is named (tls: acme)",
    stack: "prod",
    config: () => withValue(prod(), "tls", [], "acme"),
    problems: ["ems-infra:tls: must be a mapping (key: value), got a string"],
  },
  {
    name: "a list where a mapping is expected is named (services as a list)",
    stack: "dev",
    config: () => withValue(dev(), "services", [], [{ name: "ems", version: "1.0.0" }]),
    problems: ["ems-infra:services: must be a mapping (key: value), got a list"],
  },
  {
    name: 'quoted words are not booleans or numbers (traefik.manage: "yes", ssh.port: "2222")',
    stack: "prod",
    config: () =>
      withValue(withValue(prod(), "traefik", ["manage"], "yes"), "ssh", [], { host: "203.0.113.10", port: "2222" }),
    problems: [
      "ems-infra:ssh.port: must be a number, got a string",
      "ems-infra:traefik.manage: must be true or false, got a string",
    ],
  },
  // Wrong formats.
  {
    name: "a backup schedule is a 5-field cron expression",
    stack: "dev",
    config: () => withValue(dev(), "backup", ["schedule"], "0 3 * *"),
    problems: ["ems-infra:backup.schedule: must be a 5-field cron expression"],
  },
  {
    name: "service names are lower-case letters, digits and dashes (EMS and ems_api are refused)",
    stack: "dev",
    config: () =>
      withValue(withValue(dev(), "services", ["EMS"], { version: "1.0.0" }), "services", ["ems_api"], {
        version: "1.0.0",
      }),
    problems: [
      "ems-infra:services.EMS: is not a valid service name: lower-case letters, digits and dashes, starting with a letter (like ems or ems-api)",
      "ems-infra:services.ems_api: is not a valid service name: lower-case letters, digits and dashes, starting with a letter (like ems or ems-api)",
    ],
  },
  {
    name: "a database name is a lower-case SQL identifier (no dash)",
    stack: "prod",
    config: () => withValue(prod(), "services", ["sms", "database"], "sms-db"),
    problems: ["ems-infra:services.sms.database: must be a lower-case SQL identifier"],
  },
  {
    name: "a health path starts with /",
    stack: "dev",
    config: () => withValue(dev(), "services", ["ems", "healthPath"], "health"),
    problems: ["ems-infra:services.ems.healthPath: must start with /"],
  },
  {
    name: "a container uploads folder is an absolute path",
    stack: "prod",
    config: () => withValue(prod(), "services", ["ems", "uploadsDir"], "app/uploads"),
    problems: ["ems-infra:services.ems.uploadsDir: must be an absolute path"],
  },
  {
    name: "registry and volume names must be usable by Docker (an empty registry server, a volume name with a space)",
    stack: "prod",
    config: () => withValue(withValue(prod(), "registry", ["server"], ""), "postgres", ["volume"], "ems data"),
    problems: [
      "ems-infra:registry.server: must not be empty",
      "ems-infra:postgres.volume: must be a Docker volume name (letters, digits, _ . -, at least 2, starting with a letter or digit)",
    ],
  },
  // Dangerous values.
  {
    name: "a port is a number from 1 to 65535 (70000 is refused)",
    stack: "dev",
    config: () => withValue(dev(), "services", ["ems", "port"], 70000),
    problems: ["ems-infra:services.ems.port: must be a port number from 1 to 65535"],
  },
  {
    name: "Postgres is not published on a host port in dev either",
    stack: "dev",
    config: () => withValue(dev(), "postgres", ["hostPort"], 5432),
    problems: ["ems-infra:postgres.hostPort: Postgres is never published on a host port"],
  },
  {
    name: "dev pins its images too: Traefik without a tag and Postgres `latest` are refused",
    stack: "dev",
    config: () =>
      withValue(withValue(dev(), "traefik", ["image"], "traefik"), "postgres", ["image"], "postgres:latest"),
    problems: [
      "ems-infra:traefik.image: must name a tag or a digest (pin a release tag or a digest, e.g. postgres:17.6-alpine)",
      "ems-infra:postgres.image: must not use the tag latest (pin a release tag or a digest, e.g. postgres:17.6-alpine)",
    ],
  },
  {
    name: "a Postgres major other than the data volume's is refused (postgres:16.6 on dataVersion 17)",
    stack: "prod",
    config: () => withValue(prod(), "postgres", ["image"], "postgres:16.6"),
    problems: [
      'ems-infra:postgres.image: major version 16 cannot open the data volume of PostgreSQL 17 (ems-infra:postgres.dataVersion); a major upgrade is dump, new volume, restore: follow "Upgrading PostgreSQL" in the README',
    ],
  },
  {
    name: "prod refuses the Traefik dashboard without a dashboardPassword",
    stack: "prod",
    config: () => without(withValue(prod(), "traefik", ["dashboard"], { enabled: true }), "dashboardPassword"),
    problems: [MISSING_DASHBOARD_PASSWORD],
  },
  {
    name: "a GHCR token stored in plain text is refused, with the command that stores it as a secret",
    stack: "prod",
    config: () => prod(),
    secretKeys: [],
    problems: [
      "ems-infra:ghcrToken: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ems-infra:ghcrToken <value> --stack prod",
      "ems-infra:dashboardPassword: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ems-infra:dashboardPassword <value> --stack prod",
    ],
  },
  {
    name: "a Postgres password stored in plain text is refused in dev too",
    stack: "dev",
    config: () => ({ ...dev(), "ems-infra:postgresPassword": "plain-text-password-0123" }),
    secretKeys: [],
    problems: [
      "ems-infra:postgresPassword: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ems-infra:postgresPassword <value> --stack dev",
    ],
  },
  {
    name: "an empty credential is refused once, as empty (not also as too short)",
    stack: "dev",
    config: () => ({ ...dev(), "ems-infra:postgresPassword": "" }),
    secretKeys: ["ems-infra:postgresPassword"],
    problems: ["ems-infra:postgresPassword: must not be empty"],
  },
  {
    name: "too-short credentials are refused in dev too (a JWT key under 16, a dashboard password under 12 characters)",
    stack: "dev",
    config: () => ({
      ...dev(),
      "ems-infra:serviceSecrets": JSON.stringify({ sms: { jwtKey: "dev-jwt-key" } }),
      "ems-infra:dashboardPassword": "admin",
    }),
    secretKeys: ["ems-infra:serviceSecrets", "ems-infra:dashboardPassword"],
    problems: [
      "ems-infra:serviceSecrets.sms.jwtKey: must be at least 16 characters",
      "ems-infra:dashboardPassword: must be at least 12 characters",
    ],
  },
  {
    name: "backup.keepDaily 0 is refused: the newest backup is always kept",
    stack: "prod",
    config: () => withValue(prod(), "backup", ["keepDaily"], 0),
    problems: ["ems-infra:backup.keepDaily: must be at least 1 (the newest backup is always kept)"],
  },
  {
    name: "memory limits below the minimum are refused (an API under 64 MiB, Postgres under 128 MiB)",
    stack: "prod",
    config: () => withValue(withValue(prod(), "services", ["ems", "memoryMb"], 32), "postgres", ["memoryMb"], 64),
    problems: [
      "ems-infra:postgres.memoryMb: must be at least 128 (MiB)",
      "ems-infra:services.ems.memoryMb: must be at least 64 (MiB)",
    ],
  },
  {
    name: "a service image with its own tag is refused: the tag is the service's version",
    stack: "prod",
    config: () => withValue(prod(), "services", ["ems", "image"], "ghcr.io/edumigsoft/ems:latest"),
    problems: [
      "ems-infra:services.ems.image: must be a repository without a tag or digest: the tag is the service's version",
    ],
  },
  {
    name: "a registry given as a URL is refused: it is a host name",
    stack: "dev",
    config: () => withValue(dev(), "registry", ["server"], "https://ghcr.io"),
    problems: ["ems-infra:registry.server: must be a registry host name like ghcr.io (no scheme, no path)"],
  },
];

describe("parseStackConfig (pure)", () => {
  test.each(BAD.map((b) => [b.name, b] as const))("%s", (_name, bad) => {
    const config = bad.config();
    const frozen = JSON.stringify(config);
    let error: unknown;
    try {
      parseStackConfig(bad.stack, config, new Set(bad.secretKeys ?? TOKEN_KEYS), "/home/dev", "/work/repo");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual(bad.problems);
    const n = bad.problems.length;
    expect((error as ConfigError).message).toBe(
      `Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n${bad.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    expect(JSON.stringify(config)).toBe(frozen);
  });

  test("secret values never appear in a problem", () => {
    const problems = problemsOf(
      "prod",
      {
        ...prod(),
        "ems-infra:postgresPassword": "short-pw",
        "ems-infra:serviceSecrets": JSON.stringify({ ems: { apiKey: 1234567890123456 } }),
      },
      [...TOKEN_KEYS, "ems-infra:postgresPassword", "ems-infra:serviceSecrets"],
    );
    expect(problems.length).toBe(2);
    expect(problems.join("\n")).not.toContain("short-pw");
    expect(problems.join("\n")).not.toContain("1234567890123456");
  });

  test("a credential made only of digits is kept as text", () => {
    const cfg = parseStackConfig(
      "prod",
      { ...prod(), "ems-infra:postgresPassword": "012345678901234567" },
      new Set([...TOKEN_KEYS, "ems-infra:postgresPassword"]),
    );
    expect(cfg.secrets.postgresPassword).toBe("012345678901234567");
  });

  test("the committed stacks are accepted, with `~` and relative paths resolved against the home and working folders given", () => {
    expect(problemsOf("prod", prod())).toEqual([]);
    const cfg = parseStackConfig(
      "dev",
      withValue(dev(), "services", ["sms", "logsHostPath"], "~/logs/sms"),
      new Set(),
      "/home/dev",
      "/work/repo",
    );
    expect(cfg.paths.data).toBe("/work/repo/.dev-data");
    expect(cfg.tls).toEqual({ mode: "mkcert", certsDir: "/work/repo/.dev-data/certs" });
    expect(cfg.services.find((s) => s.name === "sms")!.logsHostPath).toBe("/home/dev/logs/sms");
  });
});

describe("a bad config stops the stack run", () => {
  test.each(BAD.map((b) => [b.name, b] as const))(
    "%s: RunError with the same problems, before any resource is registered",
    async (_name, bad) => {
      const failed = await runFailingStack(bad.stack, bad.config(), bad.secretKeys ?? TOKEN_KEYS);
      const message = runErrorMessage(failed);
      const n = bad.problems.length;
      expect(message).toBe(
        `Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n${bad.problems.map((p) => `  - ${p}`).join("\n")}\n(stack "${bad.stack}")`,
      );
      expect(failed.registered).toEqual([]);
    },
  );
});

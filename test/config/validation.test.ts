/**
 * The config validator: bad configs and the exact problems they are refused with — through
 * `parseStackConfig` alone (pure), and through a whole stack run, which must stop with a pulumi.RunError
 * (message only, no stack trace) before any resource is registered.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { TEST_SECRETS, committedConfig } from "../support/stackHarness";
import { runErrorMessage, runFailingStack, withValue } from "../stacks/helpers";

const TOKEN_KEYS = Object.keys(TEST_SECRETS);
const prod = (): Record<string, string> => ({ ...committedConfig("prod"), ...TEST_SECRETS });
const dev = (): Record<string, string> => committedConfig("dev");
const MISSING_TOKEN =
  "ems-infra:ghcrToken: missing secret (GHCR read:packages token); set it with: pulumi config set --secret ems-infra:ghcrToken <token> --stack prod";

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
    ...Object.fromEntries(Object.entries(file.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    ...TEST_SECRETS,
  };
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
    config: () => withValue(withValue(prod(), "traefik", ["image"], "traefik:latest"), "postgres", ["image"], "postgres"),
    problems: [
      "ems-infra:traefik.image: must name a pinned tag or digest (e.g. postgres:16.6), never `latest` or no tag",
      "ems-infra:postgres.image: must name a pinned tag or digest (e.g. postgres:16.6), never `latest` or no tag",
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
    problems: [MISSING_TOKEN],
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
      "ems-infra:traefik.dashboard: must be true or false, got a string",
      "ems-infra:services.ems.port: must be a number, got a string",
      "ems-infra:backup.keepDaily: must be a number, got a string",
    ],
  },
  {
    name: "an unquoted YAML version (version: 1.5) is named, with how to quote it",
    stack: "prod",
    config: () => prodYamlWith('version: "1.0.0"', "version: 1.5"),
    problems: ['ems-infra:services.ems.version: must be a string, got a number (1.5); quote it in Pulumi.prod.yaml, e.g. version: "1.5"'],
  },
  {
    name: "an unknown environment and an unknown TLS mode are refused",
    stack: "dev",
    config: () => withValue({ ...dev(), "ems-infra:environment": "staging" }, "tls", ["mode"], "selfsigned"),
    problems: ['ems-infra:environment: Invalid option: expected one of "development"|"production"', 'ems-infra:tls.mode: must be "mkcert" or "acme"'],
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
      "ems-infra:serviceSecrets.ems.jwtKey: must be at least 32 characters",
      "ems-infra:serviceSecrets.ems.apiKey: must be a string, got a number; quote it in Pulumi.prod.yaml",
    ],
  },
  {
    name: "service secrets for a service that does not exist are refused",
    stack: "prod",
    config: () => ({ ...prod(), "ems-infra:serviceSecrets": JSON.stringify({ crm: { apiKey: "0123456789abcdefghij" } }) }),
    secretKeys: [...TOKEN_KEYS, "ems-infra:serviceSecrets"],
    problems: ["ems-infra:serviceSecrets.crm: names no service in ems-infra:services"],
  },
  {
    name: "every problem of a config is listed in one error: schema, production rules and secrets together",
    stack: "prod",
    config: () => {
      let c = withValue(committedConfig("prod"), "paths", ["data"], "data");
      c = withValue(c, "services", ["sms", "version"], "latest");
      c = withValue(c, "tls", ["email"], "nope");
      return { ...c, "ems-infra:domain": "", "ems-infra:sytem": "ems_system" };
    },
    secretKeys: [],
    problems: [
      "ems-infra:domain: must not be empty",
      "ems-infra:tls.email: must be an e-mail address",
      "ems-infra:services.sms.version: must be a pinned version, not `latest`",
      "ems-infra:sytem: is not a known setting (typo?)",
      'ems-infra:paths.data: must be an absolute path in production (got "data")',
      MISSING_TOKEN,
    ],
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
    expect((error as ConfigError).message).toBe(`Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n${bad.problems.map((p) => `  - ${p}`).join("\n")}`);
    expect(JSON.stringify(config)).toBe(frozen);
  });

  test("secret values never appear in a problem", () => {
    const problems = problemsOf(
      "prod",
      { ...prod(), "ems-infra:postgresPassword": "short-pw", "ems-infra:serviceSecrets": JSON.stringify({ ems: { apiKey: 1234567890123456 } }) },
      [...TOKEN_KEYS, "ems-infra:postgresPassword", "ems-infra:serviceSecrets"],
    );
    expect(problems.length).toBe(2);
    expect(problems.join("\n")).not.toContain("short-pw");
    expect(problems.join("\n")).not.toContain("1234567890123456");
  });

  test("a credential made only of digits is kept as text", () => {
    const cfg = parseStackConfig("prod", { ...prod(), "ems-infra:postgresPassword": "012345678901234567" }, new Set([...TOKEN_KEYS, "ems-infra:postgresPassword"]));
    expect(cfg.secrets.postgresPassword).toBe("012345678901234567");
  });

  test("the committed stacks are accepted, with `~` and relative paths resolved against the home and working folders given", () => {
    expect(problemsOf("prod", prod())).toEqual([]);
    const cfg = parseStackConfig("dev", withValue(dev(), "services", ["sms", "logsHostPath"], "logs/sms"), new Set(), "/home/dev", "/work/repo");
    expect(cfg.paths.data).toBe("/home/dev/Projects/Working/ems_system/.dev-data");
    expect(cfg.tls).toEqual({ mode: "mkcert", certsDir: "/home/dev/Projects/Working/ems_system/servers/infra/certs" });
    expect(cfg.services.find((s) => s.name === "sms")!.logsHostPath).toBe("/work/repo/logs/sms");
  });
});

describe("a bad config stops the stack run", () => {
  test.each(BAD.map((b) => [b.name, b] as const))("%s: RunError with the same problems, before any resource is registered", async (_name, bad) => {
    const failed = await runFailingStack(bad.stack, bad.config(), bad.secretKeys ?? TOKEN_KEYS);
    const message = runErrorMessage(failed);
    const n = bad.problems.length;
    expect(message).toBe(`Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n${bad.problems.map((p) => `  - ${p}`).join("\n")}\n(stack "${bad.stack}")`);
    expect(failed.registered).toEqual([]);
  });
});

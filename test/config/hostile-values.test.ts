/**
 * Values a tired operator or a careless pull request can put in Pulumi.<stack>.yaml, one per row, across
 * every string key of both stacks: each is refused with its exact one-line problem, naming the full key,
 * before anything is registered. (The accepted ones are run for real in test/host/hostileAccepted.test.ts.)
 */
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { committedConfig, TEST_SECRETS } from "../support";
import { runErrorMessage, runFailingStack, withValue } from "../stacks/helpers";

type Config = Record<string, string>;
const SECRET_KEYS = Object.keys(TEST_SECRETS);
const base = (stack: "dev" | "prod"): Config =>
  stack === "prod" ? { ...committedConfig("prod"), ...TEST_SECRETS } : committedConfig("dev");

interface Hostile {
  stack: "dev" | "prod";
  /** Dotted key under `ems-infra:` the value is set at (`services.ems.host`). */
  key: string;
  value: unknown;
  /** The problems, exactly. */
  problems: string[];
  /** Builds the config when setting `key` alone is not enough (a new service, the ssh block). */
  config?: (c: Config) => Config;
}

const set = (c: Config, dotted: string, value: unknown): Config => {
  const [top, ...rest] = dotted.split(".");
  return withValue(c, top, rest, value);
};

const PIN = "(pin a release tag or a digest, e.g. postgres:17.6-alpine)";
const QUOTES = "must not contain ' \" ` $ or \\ (quotes and shell expansions are never part of a folder name here)";
const ONE_LINE = "must be one line (no newline)";
const HOST_CHARS = "may only hold lower-case letters, digits, hyphens and dots";
const HYPHEN = "has a label that starts or ends with a hyphen";
const URL_HOST = "must be a host name, not a URL (no scheme like https://, no path)";
const LOWER = "must be lower-case (host names are case-insensitive: write them in lower case)";
const URL_PATH =
  "must be / followed by URL path characters only (letters, digits, - . _ ~ / : @ + , ; = ! * and %XX; no query, no blanks)";
const DOTDOT = "must not contain a .. segment (write the folder itself)";
const FIVE = "must be a 5-field cron expression";
const CRON_CHARS = "must use only numbers, names, *, ranges, steps and lists (cron has no L, W, # or ?)";
const SQL = "must be a lower-case SQL identifier";
const SERVICE_NAME =
  "is not a valid service name: lower-case letters, digits and dashes, starting with a letter (like ems or ems-api)";
const CONTAINER =
  "must be a Docker container name (letters, digits, _ . -, at least 2, starting with a letter or digit)";
const SSH_FILE = "must not contain blanks or % (ssh splits file options at blanks and expands % tokens)";
const USER = "must be a user name: lower-case letters, digits, _ and -, not starting with - or a digit";
const REGISTRY = "must be a registry host name like ghcr.io (no scheme, no path)";
const DIGEST = `sha256:${"a".repeat(64)}`;
const ssh = (extra: Record<string, unknown>) => (c: Config) =>
  withValue(c, "ssh", [], { host: "vps.edumigsoft.com.br", ...extra });
const newService = (name: string) => (c: Config) =>
  withValue(c, "services", [name], { image: "ems-server", imageSource: "local", version: "latest" });
const key = (k: string, problem: string) => `ems-infra:${k}: ${problem}`;
/** A domain that is valid itself, but too long once `api.ems.` is put in front (253 characters at most). */
const LONG_DOMAIN = `${"d".repeat(61)}.`.repeat(4) + "loc";

const HOSTILE: Hostile[] = [
  // Host names: Traefik rules, mkcert arguments, certificates.
  {
    stack: "prod",
    key: "services.ems.host",
    value: "api.ems.edumigsoft.com.br`) || host(`evil.example",
    problems: [key("services.ems.host", HOST_CHARS)],
  },
  {
    stack: "prod",
    key: "services.ems.host",
    value: "api.ems.edumigsoft.com.br`) || Host(`evil.example",
    problems: [key("services.ems.host", LOWER)],
  },
  { stack: "dev", key: "services.ems.host", value: "-uninstall", problems: [key("services.ems.host", HYPHEN)] },
  {
    stack: "dev",
    key: "traefik.dashboard.host",
    value: "-install.local",
    problems: [key("traefik.dashboard.host", HYPHEN)],
  },
  { stack: "dev", key: "portainer.host", value: "portainer-.local", problems: [key("portainer.host", HYPHEN)] },
  {
    stack: "prod",
    key: "portainer.host",
    value: "https://portainer.edumigsoft.com.br",
    problems: [key("portainer.host", URL_HOST)],
  },
  {
    stack: "prod",
    key: "portainer.host",
    value: "portainer.edumigsoft.com.br/admin",
    problems: [key("portainer.host", URL_HOST)],
  },
  { stack: "prod", key: "domain", value: "edumigsoft.com.br.", problems: [key("domain", "must not end with a dot")] },
  { stack: "prod", key: "domain", value: "edumigsoft.com.br\napi.evil.example", problems: [key("domain", ONE_LINE)] },
  { stack: "prod", key: "domain", value: "edumigsoft.com.br`) || Host(`x", problems: [key("domain", LOWER)] },
  {
    stack: "prod",
    key: "services.sms.host",
    value: "*.edumigsoft.com.br",
    problems: [key("services.sms.host", "must name one host, not a wildcard (*)")],
  },
  {
    stack: "prod",
    key: "services.ems.host",
    value: "API.EMS.edumigsoft.com.br",
    problems: [key("services.ems.host", LOWER)],
  },
  {
    stack: "prod",
    key: "services.ems.host",
    value: "api..edumigsoft.com.br",
    problems: [key("services.ems.host", "must not have an empty label (a leading dot or two dots in a row)")],
  },
  {
    stack: "dev",
    key: "domain",
    value: `${"a".repeat(64)}.local`,
    problems: [key("domain", "has a label of 64 characters (at most 63 between dots)")],
  },
  {
    stack: "prod",
    key: "services.ems.host",
    value: `${"a.".repeat(127)}br`,
    problems: [key("services.ems.host", "must be at most 253 characters (got 256)")],
  },
  { stack: "dev", key: "services.sms.host", value: "sms_api.local", problems: [key("services.sms.host", HOST_CHARS)] },
  {
    stack: "dev",
    key: "traefik.dashboard.host",
    value: "traefik.local;touch /tmp/x",
    problems: [key("traefik.dashboard.host", URL_HOST)],
  },
  // One host per router, across the APIs, the dashboard and Portainer.
  {
    stack: "prod",
    key: "services.sms.host",
    value: "api.ems.edumigsoft.com.br",
    problems: [
      key(
        "services.sms.host",
        '"api.ems.edumigsoft.com.br" is already the host of ems-infra:services.ems.host; every router needs its own host',
      ),
    ],
  },
  {
    stack: "prod",
    key: "portainer.host",
    value: "traefik.edumigsoft.com.br",
    problems: [
      key(
        "portainer.host",
        '"traefik.edumigsoft.com.br" is already the host of ems-infra:traefik.dashboard.host; every router needs its own host',
      ),
    ],
  },
  {
    stack: "dev",
    key: "services.ems.host",
    value: "traefik.local",
    problems: [
      key(
        "traefik.dashboard.host",
        '"traefik.local" is already the host of ems-infra:services.ems.host; every router needs its own host',
      ),
    ],
  },
  {
    stack: "dev",
    key: "domain",
    value: LONG_DOMAIN,
    problems: ["ems", "sms"]
      .map((s) =>
        key(
          `services.${s}.host`,
          `the default host api.${s}.${LONG_DOMAIN.slice(0, 69)}... must be at most 253 characters (got 259); set ems-infra:services.${s}.host or a shorter ems-infra:domain`,
        ),
      )
      .concat([
        key(
          "traefik.dashboard.host",
          `the default host traefik.${LONG_DOMAIN.slice(0, 69)}... must be at most 253 characters (got 259); set ems-infra:traefik.dashboard.host or a shorter ems-infra:domain`,
        ),
        key(
          "portainer.host",
          `the default host portainer.${LONG_DOMAIN.slice(0, 67)}... must be at most 253 characters (got 261); set ems-infra:portainer.host or a shorter ems-infra:domain`,
        ),
      ]),
  },
  // E-mail addresses.
  {
    stack: "prod",
    key: "tls.email",
    value: "admin@edumigsoft.com.br\nadmin@evil.example",
    problems: [key("tls.email", "must be an e-mail address")],
  },
  {
    stack: "prod",
    key: "tls.email",
    value: "admin'$(id)@edumigsoft.com.br",
    problems: [key("tls.email", "must be an e-mail address")],
  },
  // Host paths: sh, crontab, ssh, Docker binds.
  {
    stack: "prod",
    key: "paths.data",
    value: "/root/ems_system/data$(touch /tmp/pwned)",
    problems: [key("paths.data", QUOTES)],
  },
  { stack: "prod", key: "paths.data", value: "/root/ems_system/`id`", problems: [key("paths.data", QUOTES)] },
  { stack: "prod", key: "paths.data", value: '/root/ems "system"', problems: [key("paths.data", QUOTES)] },
  {
    stack: "prod",
    key: "paths.data",
    value: "/root/ems_system/data'; reboot; '",
    problems: [key("paths.data", QUOTES)],
  },
  {
    stack: "prod",
    key: "paths.data",
    value: "/root/ems_system/data\n* * * * * rm -rf /",
    problems: [key("paths.data", ONE_LINE)],
  },
  { stack: "prod", key: "paths.data", value: "/root/ems_system/../../etc", problems: [key("paths.data", DOTDOT)] },
  { stack: "prod", key: "paths.data", value: "/", problems: [key("paths.data", "must not be the root folder /")] },
  {
    stack: "prod",
    key: "paths.secrets",
    value: "/root/ems_system/.secrets\r",
    problems: [key("paths.secrets", ONE_LINE)],
  },
  {
    stack: "prod",
    key: "tls.storageDir",
    value: "/root/infra/letsencrypt:/etc",
    problems: [key("tls.storageDir", "must not contain : (Docker bind mounts split host:container at it)")],
  },
  {
    stack: "prod",
    key: "traefik.dynamicDir",
    value: "/root/infra/traefik\\dynamic",
    problems: [key("traefik.dynamicDir", QUOTES)],
  },
  {
    stack: "prod",
    key: "services.ems.uploadsHostPath",
    value: "/root/uploads/ems\u0000",
    problems: [key("services.ems.uploadsHostPath", "must not contain control characters (tab, NUL…)")],
  },
  {
    stack: "prod",
    key: "services.sms.logsHostPath",
    value: " /root/logs/sms",
    problems: [key("services.sms.logsHostPath", "must not start or end with a blank")],
  },
  {
    stack: "dev",
    key: "tls.certsDir",
    value: "~root/certs",
    problems: [key("tls.certsDir", "must start with ~/ (a ~user path is not expanded)")],
  },
  {
    stack: "prod",
    key: "migration",
    value: { from: { letsencrypt: "/root/letsencrypt$(reboot)" } },
    problems: [key("migration.from.letsencrypt", QUOTES)],
  },
  {
    stack: "prod",
    key: "migration",
    value: { from: { uploads: { ems: "/root/uploads/../../" } } },
    problems: [key("migration.from.uploads.ems", DOTDOT)],
  },
  {
    stack: "prod",
    key: "migration",
    value: { from: { uploads: { crm: "/root/uploads/crm" } } },
    problems: [
      key("migration.from.uploads.crm", "names no service in ems-infra:services (its uploads would never be copied)"),
    ],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ knownHostsFile: "/root/.ssh/known hosts" }),
    problems: [key("ssh.knownHostsFile", SSH_FILE)],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ identityFile: "/root/.ssh/id_%u" }),
    problems: [key("ssh.identityFile", SSH_FILE)],
  },
  // Container paths: env and mounts.
  {
    stack: "prod",
    key: "services.ems.uploadsDir",
    value: "/app/uploads\nHOME=/",
    problems: [key("services.ems.uploadsDir", ONE_LINE)],
  },
  {
    stack: "prod",
    key: "services.ems.homeDir",
    value: "app",
    problems: [key("services.ems.homeDir", "must be an absolute path")],
  },
  { stack: "prod", key: "services.ems.logsDir", value: "/app/../etc", problems: [key("services.ems.logsDir", DOTDOT)] },
  // Health and verification paths.
  {
    stack: "prod",
    key: "services.ems.healthPath",
    value: "/api/v1/health; reboot",
    problems: [key("services.ems.healthPath", URL_PATH)],
  },
  {
    stack: "prod",
    key: "services.ems.healthPath",
    value: "/api/v1/health?probe=1",
    problems: [key("services.ems.healthPath", URL_PATH)],
  },
  {
    stack: "prod",
    key: "services.ems.healthPath",
    value: "/a'$(id)'",
    problems: [key("services.ems.healthPath", URL_PATH)],
  },
  {
    stack: "prod",
    key: "services.sms.verifyPath",
    value: "/api/v1/auth/verify\n",
    problems: [key("services.sms.verifyPath", URL_PATH)],
  },
  {
    stack: "dev",
    key: "services.ems.healthPath",
    value: "http://localhost/health",
    problems: [key("services.ems.healthPath", "must start with /")],
  },
  // Schedules.
  {
    stack: "prod",
    key: "backup.schedule",
    value: "99 99 * * *",
    problems: [
      key("backup.schedule", "is not a valid cron schedule: Constraint error, got value 99 expected range 0-59"),
    ],
  },
  {
    stack: "prod",
    key: "backup.schedule",
    value: "0 0 30 2 *",
    problems: [key("backup.schedule", "is not a valid cron schedule: Invalid explicit day of month definition")],
  },
  {
    stack: "prod",
    key: "backup.schedule",
    value: "0 3 * * *\n* * * * * rm -rf /",
    problems: [key("backup.schedule", ONE_LINE)],
  },
  { stack: "prod", key: "backup.schedule", value: "@daily", problems: [key("backup.schedule", FIVE)] },
  { stack: "prod", key: "backup.schedule", value: "0 3 * * * *", problems: [key("backup.schedule", FIVE)] },
  { stack: "dev", key: "backup.schedule", value: "0 3 * *", problems: [key("backup.schedule", FIVE)] },
  { stack: "prod", key: "backup.schedule", value: "0 3 L * *", problems: [key("backup.schedule", CRON_CHARS)] },
  { stack: "prod", key: "backup.schedule", value: "0 3 * * 1#2", problems: [key("backup.schedule", CRON_CHARS)] },
  { stack: "dev", key: "backup.schedule", value: "0 3 * * %", problems: [key("backup.schedule", CRON_CHARS)] },
  // Databases and roles: reserved names are never dumped or cannot be created.
  {
    stack: "dev",
    key: "services",
    value: null,
    config: newService("postgres"),
    problems: [
      key(
        "services.postgres.database",
        `the default database of service postgres, "postgres" is PostgreSQL's maintenance database, which the backup does not dump: name the service's own database; set ems-infra:services.postgres.database`,
      ),
    ],
  },
  {
    stack: "dev",
    key: "services",
    value: null,
    config: newService("template1"),
    problems: [
      key(
        "services.template1.database",
        `the default database of service template1, "template1" is reserved: template databases are never dumped by the backup, and template0/template1 are PostgreSQL's own; set ems-infra:services.template1.database`,
      ),
    ],
  },
  {
    stack: "prod",
    key: "services.sms.database",
    value: "template0",
    problems: [
      key(
        "services.sms.database",
        `"template0" is reserved: template databases are never dumped by the backup, and template0/template1 are PostgreSQL's own`,
      ),
    ],
  },
  {
    stack: "prod",
    key: "services.sms.database",
    value: "postgres",
    problems: [
      key(
        "services.sms.database",
        `"postgres" is PostgreSQL's maintenance database, which the backup does not dump: name the service's own database`,
      ),
    ],
  },
  {
    stack: "prod",
    key: "services.ems.role",
    value: "pg_monitor",
    problems: [key("services.ems.role", `"pg_monitor" is reserved: PostgreSQL refuses role names starting with pg_`)],
  },
  {
    stack: "prod",
    key: "services.ems.role",
    value: "postgres",
    problems: [key("services.ems.role", `"postgres" is the superuser: each service gets its own role`)],
  },
  {
    stack: "prod",
    key: "services.ems.database",
    value: "e".repeat(64),
    problems: [key("services.ems.database", "must be at most 63 characters (PostgreSQL cuts longer names; got 64)")],
  },
  {
    stack: "prod",
    key: "services.ems.database",
    value: "ems; DROP DATABASE sms",
    problems: [key("services.ems.database", SQL)],
  },
  { stack: "prod", key: "postgres.user", value: 'postgres"; --', problems: [key("postgres.user", SQL)] },
  // Service, container, volume, network and system names.
  {
    stack: "prod",
    key: "services",
    value: null,
    config: (c) => withValue(c, "services", ["-ems"], { version: "1.2.1" }),
    problems: [key("services.-ems", SERVICE_NAME)],
  },
  {
    stack: "prod",
    key: "services",
    value: null,
    config: (c) => withValue(c, "services", ["ems$(id)"], { version: "1.2.1" }),
    problems: [key("services.ems$(id)", SERVICE_NAME)],
  },
  {
    stack: "prod",
    key: "services",
    value: null,
    config: (c) => withValue(c, "services", ["ems-"], { version: "1.2.1" }),
    problems: [key("services.ems-", SERVICE_NAME)],
  },
  {
    stack: "prod",
    key: "postgres.containerName",
    value: "pg; rm -rf /",
    problems: [key("postgres.containerName", CONTAINER)],
  },
  {
    stack: "prod",
    key: "traefik.containerName",
    value: "-traefik",
    problems: [key("traefik.containerName", CONTAINER)],
  },
  { stack: "prod", key: "portainer.containerName", value: "p", problems: [key("portainer.containerName", CONTAINER)] },
  {
    stack: "prod",
    key: "portainer.volume",
    value: "infra_portainer_data\n",
    problems: [
      key(
        "portainer.volume",
        "must be a Docker volume name (letters, digits, _ . -, at least 2, starting with a letter or digit)",
      ),
    ],
  },
  {
    stack: "prod",
    key: "traefik.network",
    value: "ems_system_net proxy",
    problems: [
      key(
        "traefik.network",
        "must be a Docker network name (letters, digits, _ . -, at least 2, starting with a letter or digit)",
      ),
    ],
  },
  {
    stack: "prod",
    key: "system",
    value: "ems system",
    problems: [key("system", "must be a lower-case name like ems_system")],
  },
  // SSH: a value starting with - would be an option of ssh.
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ host: "-oproxycommand=id" }),
    problems: [key("ssh.host", HOST_CHARS)],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ host: "[2001:db8::10]" }),
    problems: [key("ssh.host", "must be an IPv6 address without brackets (e.g. 2001:db8::10)")],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ host: "fe80::1%eth0" }),
    problems: [key("ssh.host", "must be an address without a zone (%eth0)")],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ host: "203.0.113.300" }),
    problems: [key("ssh.host", "is not an IPv4 address (four numbers 0-255)")],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ user: "-oProxyCommand=id" }),
    problems: [key("ssh.user", USER)],
  },
  {
    stack: "prod",
    key: "ssh",
    value: null,
    config: ssh({ user: "root@evil.example" }),
    problems: [key("ssh.user", USER)],
  },
  // Registry and images: the policy pack's rule, refused before preview.
  { stack: "prod", key: "registry.server", value: "ghcr.io/edumigsoft", problems: [key("registry.server", REGISTRY)] },
  { stack: "prod", key: "registry.server", value: "ghcr.io:99999", problems: [key("registry.server", REGISTRY)] },
  {
    stack: "prod",
    key: "registry.namespace",
    value: "edumigsoft;id",
    problems: [key("registry.namespace", "must be a lower-case registry namespace like edumigsoft")],
  },
  { stack: "prod", key: "registry.username", value: "edumigsoft\nx", problems: [key("registry.username", ONE_LINE)] },
  {
    stack: "prod",
    key: "services.ems.image",
    value: "ghcr.io/edumigsoft/ems-server:1.2.1",
    problems: [
      key("services.ems.image", "must be a repository without a tag or digest: the tag is the service's version"),
    ],
  },
  {
    stack: "prod",
    key: "services.ems.image",
    value: "ghcr.io/EduMigSoft/ems-server",
    problems: [
      key("services.ems.image", "must be an image repository: lower-case letters and digits, separated by . _ - or /"),
    ],
  },
  {
    stack: "prod",
    key: "services.ems.version",
    value: "1.2.1;rm",
    problems: [key("services.ems.version", "must be a valid image tag")],
  },
  {
    stack: "prod",
    key: "traefik.image",
    value: "traefik:v3",
    problems: [key("traefik.image", `has a bare major version (v3), which moves with every minor release ${PIN}`)],
  },
  {
    stack: "prod",
    key: "postgres.image",
    value: "postgres:17",
    problems: [key("postgres.image", `has a bare major version (17), which moves with every minor release ${PIN}`)],
  },
  {
    stack: "prod",
    key: "postgres.image",
    value: "postgres:alpine",
    problems: [key("postgres.image", `has the floating tag alpine: name a release ${PIN}`)],
  },
  {
    stack: "prod",
    key: "postgres.image",
    value: `postgres:latest@${DIGEST}`,
    problems: [key("postgres.image", `must not use the tag latest ${PIN}`)],
  },
  {
    stack: "prod",
    key: "portainer.image",
    value: "portainer/portainer-ce:2.27.3; rm -rf /",
    problems: [
      key("portainer.image", "must be an image repository: lower-case letters and digits, separated by . _ - or /"),
    ],
  },
  {
    stack: "prod",
    key: "traefik.image",
    value: "traefik:v3.6.1;id",
    problems: [key("traefik.image", "has a tag Docker does not accept (letters, digits, _ . -, at most 128)")],
  },
  // Mail relay and the rest.
  {
    stack: "prod",
    key: "email",
    value: { host: "smtp.edumigsoft.com.br\nx", from: "noreply@edumigsoft.com.br" },
    problems: [key("email.host", ONE_LINE)],
  },
  {
    stack: "prod",
    key: "email",
    value: {
      host: "smtp.edumigsoft.com.br",
      from: "noreply@edumigsoft.com.br",
      fromName: "EMS\nBcc: all@evil.example",
    },
    problems: [key("email.fromName", ONE_LINE)],
  },
  {
    stack: "prod",
    key: "docker.host",
    value: "ssh://root@vps -oProxyCommand=id",
    problems: [
      key("docker.host", "must be a Docker endpoint: unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376"),
    ],
  },
  {
    stack: "prod",
    key: "traefik.dashboard.user",
    value: "admin:x",
    problems: [key("traefik.dashboard.user", "must be a lower-case user name")],
  },
  {
    stack: "prod",
    key: "services.ems.command",
    value: ["/app/bin/server\n--debug"],
    problems: [key("services.ems.command.0", ONE_LINE)],
  },
];

function configOf(h: Hostile): Config {
  const c = base(h.stack);
  return h.config ? h.config(c) : set(c, h.key, h.value);
}

function problemsOf(h: Hostile): string[] {
  try {
    parseStackConfig(h.stack, configOf(h), new Set(SECRET_KEYS), "/home/dev", "/work/repo");
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

test("the table holds at least 60 hostile values, on both stacks", () => {
  expect(HOSTILE.length).toBeGreaterThanOrEqual(60);
  expect(new Set(HOSTILE.map((h) => h.stack))).toEqual(new Set(["dev", "prod"]));
});

describe.each(
  HOSTILE.map((h) => [`${h.stack} ${h.key} = ${JSON.stringify(h.value ?? h.config?.({})).slice(0, 70)}`, h] as const),
)("%s", (_label, h) => {
  test("is refused with the exact problem, naming the full key", () => {
    expect(problemsOf(h)).toEqual(h.problems);
  });
});

// The same refusal through a whole run: pulumi.RunError, nothing registered. One row of each class is enough.
test.each([0, 2, 22, 27, 49, 52, 60, 80].map((i) => [HOSTILE[i].key, HOSTILE[i]] as const))(
  "%s: a stack run stops before any resource is registered",
  async (_k, h) => {
    const failed = await runFailingStack(h.stack, configOf(h), SECRET_KEYS);
    expect(runErrorMessage(failed)).toContain(h.problems[0]);
    expect(failed.registered).toEqual([]);
  },
);

/**
 * The grammar of every config value where it meets the outside: a shell, a crontab line, ssh, mkcert, a
 * Traefik rule, PostgreSQL, Docker. Each rule is a pure `…Problem(value)` (the first reason a value is refused,
 * undefined when accepted: config.ts also runs them on derived values) and a zod schema built on it.
 */
import * as net from "net";
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { imageRefProblem, repositoryProblem, unpinnedReason } from "../components/imageRef";

type Problem = (value: string) => string | undefined;

/** A zod refinement reporting the first problem `problem` finds (one message per key, never a pile). */
export function refuse(problem: Problem) {
  return (value: string, ctx: z.RefinementCtx<string>): void => {
    const reason = problem(value);
    if (reason) ctx.addIssue({ code: "custom", message: reason });
  };
}

/** A zod string checked by `problem`. */
export function grammar(problem: Problem) {
  return z.string().superRefine(refuse(problem));
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const EMPTY = "must not be empty";

/** A value on one line: no newline, tab or other control character (they end or split lines everywhere). */
function oneLineProblem(value: string): string | undefined {
  if (value === "") return EMPTY;
  if (/[\n\r]/.test(value)) return "must be one line (no newline)";
  if (CONTROL.test(value)) return "must not contain control characters (tab, NUL…)";
  return undefined;
}

// ------------------------------------------------------------------------------------------ host names

/** A DNS host name: lower-case labels of letters, digits and hyphens, at most 63 each and 253 in all. */
export function hostNameProblem(value: string): string | undefined {
  const line = oneLineProblem(value);
  if (line) return line;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.includes("/"))
    return "must be a host name, not a URL (no scheme like https://, no path)";
  if (value.includes("*")) return "must name one host, not a wildcard (*)";
  if (value.endsWith(".")) return "must not end with a dot";
  if (/[A-Z]/.test(value)) return "must be lower-case (host names are case-insensitive: write them in lower case)";
  if (/[^a-z0-9.-]/.test(value)) return "may only hold lower-case letters, digits, hyphens and dots";
  if (value.length > 253) return `must be at most 253 characters (got ${value.length})`;
  const labels = value.split(".");
  if (labels.some((l) => l === "")) return "must not have an empty label (a leading dot or two dots in a row)";
  const long = labels.find((l) => l.length > 63);
  if (long) return `has a label of ${long.length} characters (at most 63 between dots)`;
  if (labels.some((l) => l.startsWith("-") || l.endsWith("-"))) return "has a label that starts or ends with a hyphen";
  return undefined;
}
export const hostName = () => grammar(hostNameProblem);

/** A host name or an IP address (IPv4, or IPv6 without brackets and without a zone). */
function hostOrAddressProblem(value: string): string | undefined {
  if (value.includes("%")) return "must be an address without a zone (%eth0)";
  if (net.isIPv4(value) || net.isIPv6(value)) return undefined;
  if (/^\[.*\]$/.test(value)) return "must be an IPv6 address without brackets (e.g. 2001:db8::10)";
  if (/^[0-9.]+$/.test(value)) return "is not an IPv4 address (four numbers 0-255)";
  if (value.includes(":")) return "is not an IPv6 address";
  return hostNameProblem(value);
}
export const hostOrAddress = () => grammar(hostOrAddressProblem);

/** A registry host, `ghcr.io` or `localhost:5000`: no scheme, no path. */
function registryHostProblem(value: string): string | undefined {
  const match = /^([^:]*)(?::(\d{1,5}))?$/.exec(value);
  const bad = "must be a registry host name like ghcr.io (no scheme, no path)";
  if (value === "") return EMPTY;
  if (!match || (match[2] !== undefined && Number(match[2]) > 65535)) return bad;
  return hostNameProblem(match[1]) ? bad : undefined;
}
export const registryHost = () => grammar(registryHostProblem);

/** An e-mail address whose domain is a host name (Let's Encrypt, EMAIL_SERVICE_FROM). */
function emailProblem(value: string): string | undefined {
  const at = value.lastIndexOf("@");
  const local = value.slice(0, at);
  if (
    at <= 0 ||
    !/^[A-Za-z0-9._+-]{1,64}$/.test(local) ||
    local.startsWith(".") ||
    local.endsWith(".") ||
    local.includes("..")
  )
    return "must be an e-mail address";
  const domain = value.slice(at + 1);
  return hostNameProblem(domain) || !domain.includes(".") ? "must be an e-mail address" : undefined;
}
export const email = () => grammar(emailProblem);

// ------------------------------------------------------------------------------------------ names

/** A service name: it becomes a DNS label (`api.<service>.<domain>`), a router and a role name. */
export function serviceNameProblem(value: string): string | undefined {
  if (!/^[a-z](?:[a-z0-9-]*[a-z0-9])?$/.test(value)) {
    return "is not a valid service name: lower-case letters, digits and dashes, starting with a letter (like ems or ems-api)";
  }
  if (value.length > 40)
    return "is too long a service name (at most 40 characters: it is part of host, role and database names)";
  return undefined;
}

/** A Docker container, network or volume name (the engine's own rule); at most 63, as it is a DNS name on networks. */
function dockerNameProblem(kind: "container" | "network" | "volume"): Problem {
  return (value) => {
    if (value === "") return EMPTY;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(value))
      return `must be a Docker ${kind} name (letters, digits, _ . -, at least 2, starting with a letter or digit)`;
    if (value.length > 63) return `must be at most 63 characters (got ${value.length})`;
    return undefined;
  };
}
export const dockerName = (kind: "container" | "network" | "volume") => grammar(dockerNameProblem(kind));

/** The system's name: in container, volume and network names and the crontab marker. */
export function systemNameProblem(value: string): string | undefined {
  if (!/^[a-z][a-z0-9_]*$/.test(value)) return "must be a lower-case name like ems_system";
  if (value.length > 32) return "must be at most 32 characters";
  return undefined;
}

/** A PostgreSQL identifier as the program writes it: lower case, never cut (PostgreSQL keeps 63 bytes). */
function sqlIdentifierProblem(value: string): string | undefined {
  if (!/^[a-z_][a-z0-9_]*$/.test(value)) return "must be a lower-case SQL identifier";
  if (value.length > 63) return `must be at most 63 characters (PostgreSQL cuts longer names; got ${value.length})`;
  return undefined;
}
export const sqlIdentifier = () => grammar(sqlIdentifierProblem);

/** A service's database: never one of PostgreSQL's own, which the backup does not dump. */
export function databaseNameProblem(value: string): string | undefined {
  const sql = sqlIdentifierProblem(value);
  if (sql) return sql;
  if (value === "postgres")
    return `"postgres" is PostgreSQL's maintenance database, which the backup does not dump: name the service's own database`;
  if (value.startsWith("template"))
    return `"${value}" is reserved: template databases are never dumped by the backup, and template0/template1 are PostgreSQL's own`;
  return undefined;
}
export const databaseName = () => grammar(databaseNameProblem);

/** A service's login role: not the superuser's name, not a reserved `pg_` role. */
export function roleNameProblem(value: string): string | undefined {
  const sql = sqlIdentifierProblem(value);
  if (sql) return sql;
  if (value === "postgres") return `"postgres" is the superuser: each service gets its own role`;
  if (value.startsWith("pg_")) return `"${value}" is reserved: PostgreSQL refuses role names starting with pg_`;
  return undefined;
}
export const roleName = () => grammar(roleNameProblem);

/** A POSIX login name (ssh user). */
function userNameProblem(value: string): string | undefined {
  if (!/^[a-z_][a-z0-9_-]*$/.test(value))
    return "must be a user name: lower-case letters, digits, _ and -, not starting with - or a digit";
  if (value.length > 32) return "must be at most 32 characters";
  return undefined;
}
export const userName = () => grammar(userNameProblem);

// ------------------------------------------------------------------------------------------ paths

export interface PathRules {
  /** `~` and relative paths are allowed (host paths resolved against the home and project folders). */
  relative?: boolean;
  /** Also refuse blanks and `%`: ssh splits its file options at blanks and expands `%` tokens in them. */
  sshOption?: boolean;
}

/**
 * A file or folder path. Refused, besides control characters: `..` segments (the folder made, chmod-ed and
 * backed up must be the one written: `/root/x/../..` is `/root`), `/` itself, `:` (Docker's bind syntax
 * `host:container[:ro]` splits at it), and ' " ` $ \ : every other character is quoted where it is used, but
 * these are the ones each layer (sh, ssh's remote shell, cron, a copy-pasted runbook line) treats as syntax,
 * and no real folder of this system needs them. `%` is allowed (the crontab line escapes it).
 */
export function pathProblem(rules: PathRules = {}): Problem {
  return (value) => {
    const line = oneLineProblem(value);
    if (line) return line;
    if (value !== value.trim()) return "must not start or end with a blank";
    if (!rules.relative && !value.startsWith("/")) return "must be an absolute path";
    if (/^~[^/]/.test(value)) return "must start with ~/ (a ~user path is not expanded)";
    if (/['"`$\\]/.test(value))
      return "must not contain ' \" ` $ or \\ (quotes and shell expansions are never part of a folder name here)";
    if (value.includes(":")) return "must not contain : (Docker bind mounts split host:container at it)";
    if (rules.sshOption && /[\s%]/.test(value))
      return "must not contain blanks or % (ssh splits file options at blanks and expands % tokens)";
    if (value.split("/").includes("..")) return "must not contain a .. segment (write the folder itself)";
    if (/^\/+$/.test(value)) return "must not be the root folder /";
    if (value.length > 1024) return "must be at most 1024 characters";
    return undefined;
  };
}
/** A path on the host (absolute, `~/…`, or relative to the project in dev; production requires absolute). */
export const hostPath = (rules: PathRules = {}) => grammar(pathProblem({ relative: true, ...rules }));
/** A path inside a container. */
export const containerPath = () => grammar(pathProblem());

/** A URL path the server answers (health check, e-mail verification link): `/` then URL path characters. */
function urlPathProblem(value: string): string | undefined {
  if (!value.startsWith("/")) return "must start with /";
  if (!/^\/(?:[A-Za-z0-9._~!*+,;=:@/-]|%[0-9A-Fa-f]{2})*$/.test(value)) {
    return "must be / followed by URL path characters only (letters, digits, - . _ ~ / : @ + , ; = ! * and %XX; no query, no blanks)";
  }
  return undefined;
}
export const urlPath = () => grammar(urlPathProblem);

// ------------------------------------------------------------------------------------------ schedules, images

/** The field syntax Debian's cron reads: numbers, names, `*`, ranges, steps and lists (no L, W, #, ?). */
const CRON_VALUE = "(?:[0-9]+|[A-Za-z]{3})";
const CRON_ITEM = `(?:\\*|${CRON_VALUE}(?:-${CRON_VALUE})?)(?:/[0-9]+)?`;
const CRON_FIELD = new RegExp(`^${CRON_ITEM}(?:,${CRON_ITEM})*$`);

/** A 5-field crontab schedule that cron reads as we do and that fires: checked by cron-parser, not a regex. */
function cronScheduleProblem(value: string): string | undefined {
  const line = oneLineProblem(value);
  if (line) return line;
  const fields = value.trim().split(/ +/);
  if (fields.length !== 5 || value !== value.trim()) return "must be a 5-field cron expression";
  if (!fields.every((f) => CRON_FIELD.test(f)))
    return "must use only numbers, names, *, ranges, steps and lists (cron has no L, W, # or ?)";
  try {
    CronExpressionParser.parse(value, { strict: false }).next();
  } catch (err) {
    return `is not a valid cron schedule: ${(err as Error).message}`;
  }
  return undefined;
}
export const cronSchedule = () => grammar(cronScheduleProblem);

/** An image reference pinned to a release tag or a digest: the policy pack's own rule (components/imageRef.ts). */
function pinnedImageProblem(value: string): string | undefined {
  const malformed = imageRefProblem(value);
  if (malformed) return malformed;
  const reason = unpinnedReason(value);
  return reason && `${reason} (pin a release tag or a digest, e.g. postgres:17.6-alpine)`;
}
export const pinnedImage = () => grammar(pinnedImageProblem);

/** A repository without tag or digest (the tag is the service's version). */
function repositoryOnlyProblem(value: string): string | undefined {
  if (value === "") return EMPTY;
  if (/[:@]/.test(value.slice(value.lastIndexOf("/") + 1)))
    return "must be a repository without a tag or digest: the tag is the service's version";
  return repositoryProblem(value);
}
export const repositoryOnly = () => grammar(repositoryOnlyProblem);

/** A Docker endpoint for the provider: `unix:///path`, `ssh://user@host[:port]` or `tcp://host:port`. */
function dockerEndpointProblem(value: string): string | undefined {
  const line = oneLineProblem(value);
  if (line) return line;
  if (!/^(unix:\/\/\/[^\s'"`$\\]+|(ssh|tcp):\/\/[A-Za-z0-9_.@:[\]-]+)$/.test(value))
    return "must be a Docker endpoint: unix:///var/run/docker.sock, ssh://user@host or tcp://host:2376";
  return undefined;
}
export const dockerEndpoint = () => grammar(dockerEndpointProblem);

/** Free text on one line (a sender name, a user name at a registry). */
export const oneLine = () => grammar(oneLineProblem);

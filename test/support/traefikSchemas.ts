// Traefik v3 configuration checked against Traefik's own JSON schemas (SchemaStore, Apache-2.0; copies
// in test/schemas/traefik/, see the README there for the known gaps).
//
// - validateStatic(obj):  the static configuration (traefik.yml) against traefik-v3.json.
// - validateDynamic(obj): a dynamic configuration (file provider: http/tcp/udp routers, services,
//                         middlewares, tls) against traefik-v3-file-provider.json.
// - labelsToDynamicConfig(labels): Traefik docker labels → the same dynamic-configuration object, so the
//                         labels can be validated by validateDynamic. The schema drives the conversion:
//                         label segments are matched case-insensitively to the schema's camelCase keys,
//                         and any label it cannot place throws, naming the label (a typo can't pass).
import * as fs from "fs";
import * as path from "path";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import YAML from "yaml";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
/** The JSON Schema keywords the label conversion reads; other keywords are carried along untyped. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  patternProperties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  [keyword: string]: unknown;
}

const SCHEMA_DIR = path.join(__dirname, "..", "schemas", "traefik");
const loadSchema = (file: string): Schema => JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, file), "utf8"));

const staticSchema: Schema = loadSchema("traefik-v3.json");
const dynamicSchema: Schema = loadSchema("traefik-v3-file-provider.json");

// draft-07 is Ajv 8's default. strict: false because SchemaStore schemas use keywords/shapes strict mode
// rejects (e.g. `$defs` alongside draft-07, `default` next to `$ref`, unknown-keyword annotations).
const ajv = new Ajv({ allErrors: true, strict: false });
const staticValidator: ValidateFunction = ajv.compile(staticSchema);
const dynamicValidator: ValidateFunction = ajv.compile(dynamicSchema);

function formatError(e: ErrorObject): string {
  const where = e.instancePath || "(root)";
  const params = e.params as Record<string, unknown>;
  let detail = "";
  if (e.keyword === "additionalProperties") detail = ` (${String(params.additionalProperty)})`;
  else if (e.keyword === "enum") detail = ` (${JSON.stringify(params.allowedValues)})`;
  return `${where} ${e.message ?? e.keyword}${detail}`;
}

/** What traefik.yml / the dynamic YAML file would hold: undefined fields dropped; YAML text parsed. */
function normalize(obj: unknown): unknown {
  const value = typeof obj === "string" ? YAML.parse(obj) : obj;
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function run(validator: ValidateFunction, obj: unknown): string[] {
  const data = normalize(obj);
  if (validator(data)) return [];
  return (validator.errors ?? []).map(formatError);
}

/**
 * Errors of a static configuration (object or YAML text); [] when valid. Besides the schema, top-level
 * keys are checked: the schema's root leaves them open (every nested object is closed), so a typo such
 * as `entrypoints:` would otherwise pass.
 */
export function validateStatic(obj: unknown): string[] {
  const errors = run(staticValidator, obj);
  const data = normalize(obj);
  if (data !== null && typeof data === "object" && !Array.isArray(data)) {
    for (const key of Object.keys(data)) {
      if (!(key in (staticSchema.properties ?? {}))) errors.push(`(root) must NOT have additional properties (${key})`);
    }
  }
  return errors;
}

/** Errors of a dynamic (file-provider) configuration (object or YAML text); [] when valid. */
export function validateDynamic(obj: unknown): string[] {
  return run(dynamicValidator, obj);
}

// ---------------------------------------------------------------- labels → dynamic configuration

/** Docker-provider-only labels: they configure discovery, not the dynamic configuration. */
const IGNORED_LABELS = new Set(["traefik.enable", "traefik.docker.network"]);

export interface LabelConversionOptions {
  /** Host placed in `loadBalancer.servers[].url` for `...loadbalancer.server.port` (the container). Default "container". */
  serverHost?: string;
}

export class TraefikLabelError extends Error {
  constructor(
    public readonly label: string,
    reason: string,
  ) {
    super(`Traefik label "${label}": ${reason}`);
    this.name = "TraefikLabelError";
  }
}

function resolveRef(schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === "string"; i++) {
    const ref: string = s.$ref;
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
    const target = ref
      .slice(2)
      .split("/")
      .reduce<unknown>(
        (node, part) => (isObj(node) ? node[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined),
        dynamicSchema,
      );
    if (!isObj(target)) throw new Error(`dangling $ref ${ref}`);
    s = target as Schema;
  }
  return s;
}

/** The schema and its oneOf/anyOf/allOf branches, refs resolved. */
function branches(schema: Schema): Schema[] {
  const s = resolveRef(schema);
  const out = [s];
  for (const k of ["oneOf", "anyOf", "allOf"] as const) {
    for (const b of s[k] ?? []) out.push(...branches(b));
  }
  return out;
}

function typesOf(schema: Schema): Set<string> {
  const types = new Set<string>();
  for (const b of branches(schema)) {
    const t = b.type;
    if (typeof t === "string") types.add(t);
    else if (Array.isArray(t)) t.forEach((x) => types.add(x));
    else if (b.properties || b.additionalProperties || b.patternProperties) types.add("object");
  }
  types.delete("null");
  return types;
}

/** Child schema for `segment` of an object schema: [key as written in the config, its schema]. */
function childOf(schema: Schema, segment: string): [string, Schema] | undefined {
  const all = branches(schema);
  const matches = new Map<string, Schema>();
  for (const b of all) {
    for (const [k, v] of Object.entries<Schema>(b.properties ?? {})) {
      if (k.toLowerCase() === segment.toLowerCase()) matches.set(k, v);
    }
  }
  if (matches.size === 1) return [...matches.entries()][0];
  if (matches.size > 1) return undefined;
  for (const b of all) {
    for (const [pattern, v] of Object.entries<Schema>(b.patternProperties ?? {})) {
      if (new RegExp(pattern).test(segment)) return [segment, v];
    }
    if (b.additionalProperties && typeof b.additionalProperties === "object") return [segment, b.additionalProperties];
  }
  // A free-form object (`{ "type": "object" }`, e.g. a plugin's settings) takes any key.
  if (
    all.every(
      (b) => !b.properties && b.additionalProperties !== false && !b.patternProperties && !b.oneOf && !b.anyOf,
    ) &&
    typesOf(schema).has("object")
  ) {
    return [segment, {}];
  }
  return undefined;
}

function coerce(label: string, raw: string, schema: Schema): Json {
  const types = typesOf(schema);
  const value = raw.trim();
  if (types.has("array")) {
    const items = resolveRef(resolveRef(schema).items ?? {});
    if (typesOf(items).has("object"))
      throw new TraefikLabelError(label, "is a list of objects: use indexed keys such as name[0].field");
    return value
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "")
      .map((v) => coerce(label, v, items));
  }
  if ((types.has("integer") || types.has("number")) && /^-?\d+(\.\d+)?$/.test(value)) {
    if (types.has("integer") && !types.has("number") && !/^-?\d+$/.test(value))
      throw new TraefikLabelError(label, `expects an integer, got "${raw}"`);
    return Number(value);
  }
  if (types.has("boolean") && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  if (types.has("string") || types.size === 0) return raw;
  if (types.has("object")) {
    // `router.tls=true`, `middleware.compress=true`: the section, enabled with its defaults.
    if (value.toLowerCase() === "true") return {};
    throw new TraefikLabelError(label, `is a section: only "true" (enable with defaults) is understood, got "${raw}"`);
  }
  throw new TraefikLabelError(label, `expects ${[...types].join(" or ")}, got "${raw}"`);
}

type Obj = { [k: string]: Json };
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function setPath(label: string, target: Obj, schema: Schema, segments: string[], raw: string): void {
  const [head, ...rest] = segments;
  const m = /^([^[\]]+)(?:\[(\d+)\])?$/.exec(head);
  if (!m) throw new TraefikLabelError(label, `cannot read segment "${head}"`);
  const [, name, index] = m;
  const child = childOf(schema, name);
  if (!child) throw new TraefikLabelError(label, `"${name}" is not a Traefik setting here`);
  const [key, childSchema] = child;

  if (index !== undefined) {
    if (!typesOf(childSchema).has("array")) throw new TraefikLabelError(label, `"${name}" is not a list`);
    const itemSchema = resolveRef(childSchema).items ?? {};
    const list = (target[key] ??= []) as Json[];
    if (!Array.isArray(list)) throw new TraefikLabelError(label, `conflicts with another label for "${key}"`);
    const i = Number(index);
    if (rest.length === 0) {
      list[i] = coerce(label, raw, itemSchema);
      return;
    }
    const elem = (list[i] ??= {}) as Json;
    if (!isObj(elem)) throw new TraefikLabelError(label, `conflicts with another label for "${key}[${i}]"`);
    setPath(label, elem, itemSchema, rest, raw);
    return;
  }

  if (rest.length === 0) {
    const value = coerce(label, raw, childSchema);
    const existing = target[key];
    if (existing !== undefined) {
      // `tls=true` next to `tls.certresolver=...`: keep the populated section.
      if (isObj(existing) && isObj(value) && Object.keys(value).length === 0) return;
      throw new TraefikLabelError(label, `sets "${key}" twice`);
    }
    target[key] = value;
    return;
  }
  if (!typesOf(childSchema).has("object")) throw new TraefikLabelError(label, `"${name}" has no sub-settings`);
  const next = (target[key] ??= {}) as Json;
  if (!isObj(next)) throw new TraefikLabelError(label, `conflicts with another label for "${key}"`);
  setPath(label, next, childSchema, rest, raw);
}

// Docker-provider shorthand for the one server of a container's service (not a file-provider key).
const SERVER_LABEL = /^traefik\.(http|tcp|udp)\.services\.([^.]+)\.loadbalancer\.server\.([^.]+)$/i;

/**
 * Converts Traefik docker labels to the dynamic-configuration object of the file provider.
 *
 * - `traefik.<http|tcp|udp>.<routers|services|middlewares>.<name>.<path>`: each path segment is matched
 *   case-insensitively against the schema (`entrypoints` → `entryPoints`, `loadbalancer` → `loadBalancer`,
 *   `certresolver` → `certResolver`, `basicauth` → `basicAuth`), map keys (header names, plugin settings)
 *   are kept as written, `name[0].field` addresses list items (`tls.domains[0].main`).
 * - Values follow the schema type: lists split on commas, booleans `true`/`false`, numbers; a section
 *   set to `true` (`tls=true`, `compress=true`) becomes `{}` — the file-provider form of "enabled with
 *   defaults" (the schema's router `tls` is an object, so `tls: true` would not validate).
 * - `...services.<s>.loadbalancer.server.port|scheme|url` → `loadBalancer.servers: [{ url }]` with
 *   url `<scheme|http>://<serverHost>:<port>` (tcp/udp: `servers: [{ address: "<serverHost>:<port>" }]`).
 * - A router without `service` gets the section's only service, as the docker provider does.
 * - `traefik.enable` and `traefik.docker.network` are ignored (docker-provider-only); any other label
 *   it cannot place throws a TraefikLabelError naming the label.
 */
export function labelsToDynamicConfig(
  labels: Record<string, string>,
  options: LabelConversionOptions = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a schema-shaped JSON tree that callers walk by Traefik key names
): Record<string, any> {
  const serverHost = options.serverHost ?? "container";
  const config: Obj = {};
  const servers = new Map<
    string,
    { protocol: string; service: string; label: string; port?: string; scheme?: string; url?: string }
  >();

  for (const [label, value] of Object.entries(labels)) {
    const lower = label.toLowerCase();
    if (IGNORED_LABELS.has(lower)) continue;
    if (!lower.startsWith("traefik.")) throw new TraefikLabelError(label, "is not a Traefik label");

    const server = SERVER_LABEL.exec(label);
    if (server) {
      const [, protocol, service, field] = server;
      const f = field.toLowerCase();
      const allowed = protocol.toLowerCase() === "http" ? ["port", "scheme", "url"] : ["port"];
      if (!allowed.includes(f))
        throw new TraefikLabelError(label, `"server.${field}" is not understood (expected ${allowed.join(", ")})`);
      const k = `${protocol.toLowerCase()}/${service}`;
      const entry = servers.get(k) ?? { protocol: protocol.toLowerCase(), service, label };
      (entry as Record<string, string>)[f] = value.trim();
      servers.set(k, entry);
      continue;
    }

    const segments = label.split(".").slice(1);
    const [protocol, kind] = segments;
    if (!protocol || !/^(http|tcp|udp)$/i.test(protocol))
      throw new TraefikLabelError(label, "expected traefik.http|tcp|udp.<routers|services|middlewares>.<name>...");
    if (!kind || segments.length < 4)
      throw new TraefikLabelError(label, "expected traefik.<protocol>.<routers|services|middlewares>.<name>.<setting>");
    setPath(label, config, dynamicSchema, segments, value);
  }

  for (const s of servers.values()) {
    const section = (config[s.protocol] ??= {}) as Obj;
    const services = (section.services ??= {}) as Obj;
    const service = (services[s.service] ??= {}) as Obj;
    const lb = (service.loadBalancer ??= {}) as Obj;
    if (lb.servers !== undefined)
      throw new TraefikLabelError(s.label, "servers are set both by loadbalancer.server.* and loadbalancer.servers");
    if (s.protocol === "http") {
      if (s.url !== undefined) {
        if (s.port !== undefined || s.scheme !== undefined)
          throw new TraefikLabelError(s.label, "server.url excludes server.port and server.scheme");
        lb.servers = [{ url: s.url }];
      } else {
        if (s.port === undefined) throw new TraefikLabelError(s.label, "server.port is needed to build the server url");
        if (!/^\d+$/.test(s.port))
          throw new TraefikLabelError(s.label, `server.port must be a number, got "${s.port}"`);
        lb.servers = [{ url: `${s.scheme ?? "http"}://${serverHost}:${s.port}` }];
      }
    } else {
      if (!/^\d+$/.test(s.port ?? ""))
        throw new TraefikLabelError(s.label, `server.port must be a number, got "${s.port}"`);
      lb.servers = [{ address: `${serverHost}:${s.port}` }];
    }
  }

  // A router without a service uses the only service of its section (docker provider behaviour).
  for (const protocol of ["http", "tcp", "udp"]) {
    const section = config[protocol];
    if (!isObj(section) || !isObj(section.routers)) continue;
    const serviceNames = isObj(section.services) ? Object.keys(section.services) : [];
    for (const router of Object.values(section.routers)) {
      if (isObj(router) && router.service === undefined && serviceNames.length === 1) router.service = serviceNames[0];
    }
  }
  return config;
}

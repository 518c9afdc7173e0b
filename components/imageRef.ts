/**
 * The one set of image rules: how a reference is parsed, when it is pinned, which PostgreSQL major or Traefik
 * version it names. Used by the config schema (stacks/configSchema.ts), the policy pack (policy/lib.ts) and the
 * ops CLIs, so a reference the config accepts is one the mandatory policy accepts. No dependencies: the policy
 * pack loads this file with its own node_modules.
 */

interface ImageRef {
  /** The reference as written. */
  ref: string;
  /** Registry host (`ghcr.io`, `localhost:5000`), when the reference names one. */
  registry?: string;
  /** Repository without tag/digest, as written, e.g. `ghcr.io/edumigsoft/ems` or `postgres`. */
  repository: string;
  /** Repository without the Docker Hub prefixes (`docker.io/`, `index.docker.io/`, `library/`), lower-case. */
  normalized: string;
  /** The tag, when there is one. */
  tag?: string;
  /** The digest (`sha256:…`), when there is one. */
  digest?: string;
}

/** `registry/path/name:tag@sha256:...` into its parts (no validation: see `imageRefProblem`). */
function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.split("/")[0];
  // Docker's own rule: the first component is a registry when it has a dot or a port, or is localhost.
  const registry = rest.includes("/") && (/[.:]/.test(first) || first === "localhost") ? first : undefined;
  const normalized = rest
    .toLowerCase()
    .replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, "")
    .replace(/^library\//, "");
  return { ref, registry, repository: rest, normalized, tag, digest };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Docker's repository grammar: lower-case components joined by `.`, `_`, `__` or `-`, separated by `/`. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const REGISTRY_HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Tags that move by design. */
const FLOATING_TAGS: ReadonlySet<string> = new Set([
  "latest",
  "stable",
  "edge",
  "main",
  "master",
  "dev",
  "develop",
  "nightly",
  "lts",
  "current",
  "mainline",
  "alpine",
  "slim",
  "bookworm",
  "bullseye",
]);

/** Why a repository (no tag, no digest) is not one Docker accepts; undefined when it is. */
export function repositoryProblem(repository: string): string | undefined {
  const parts = repository.split("/");
  const registry = parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === "localhost") ? parts.shift() : undefined;
  if (registry !== undefined && !REGISTRY_HOST.test(registry))
    return "must start with a registry host like ghcr.io or localhost:5000";
  if (parts.length === 0 || !parts.every((p) => PATH_COMPONENT.test(p))) {
    return "must be an image repository: lower-case letters and digits, separated by . _ - or /";
  }
  return undefined;
}

/** Why a whole reference is malformed (bad repository, tag or digest); undefined when Docker can read it. */
export function imageRefProblem(ref: string): string | undefined {
  if (ref !== ref.trim() || ref === "") return "must be an image reference like postgres:17.6-alpine (no blanks)";
  if (DIGEST.test(ref)) return undefined;
  const img = parseImageRef(ref);
  const repo = repositoryProblem(img.repository);
  if (repo) return repo;
  if (img.tag !== undefined && !TAG.test(img.tag))
    return "has a tag Docker does not accept (letters, digits, _ . -, at most 128)";
  if (img.digest !== undefined && !DIGEST.test(img.digest)) return "has a digest that is not sha256:<64 hex digits>";
  return undefined;
}

/**
 * Why a reference is not pinned, undefined when it is. Pinned: a sha256 digest (`repo@sha256:<64 hex>`, or a
 * bare image id `sha256:<64 hex>` such as `RemoteImage.imageId`), or a tag naming one release: not `latest`
 * (never, even next to a digest), not another well-known floating tag, not a bare major (`16`, `v3`,
 * `16-alpine`), which floats over minor releases.
 */
export function unpinnedReason(ref: string): string | undefined {
  const bad = imageRefProblem(ref);
  if (bad) return bad;
  if (DIGEST.test(ref)) return undefined;
  const img = parseImageRef(ref);
  const tag = img.tag?.toLowerCase();
  if (tag === "latest") return "must not use the tag latest";
  if (img.digest !== undefined) return undefined;
  if (tag === undefined) return "must name a tag or a digest";
  if (FLOATING_TAGS.has(tag)) return `has the floating tag ${tag}: name a release`;
  if (/^v?\d{1,4}(-[a-z0-9.]+)?$/.test(tag))
    return `has a bare major version (${img.tag}), which moves with every minor release`;
  return undefined;
}

/** Whether a reference is pinned to a release tag or a digest (see `unpinnedReason`). */
export function isPinnedImageRef(ref: string): boolean {
  return unpinnedReason(ref) === undefined;
}

/** Last path segment of the normalized repository (`ghcr.io/x/traefik` → `traefik`). */
function imageBaseName(ref: string): string {
  const n = parseImageRef(ref).normalized;
  return n.slice(n.lastIndexOf("/") + 1);
}

/** The official Traefik image (`traefik:<tag>`, `traefik@sha256:…`, `docker.io/library/traefik:<tag>`). */
export function isTraefikImage(ref: string | undefined): boolean {
  return typeof ref === "string" && parseImageRef(ref).normalized === "traefik";
}

/** The official haproxy image (`haproxy:<tag>`, by digest, or on docker.io): the socket proxy's. */
export function isHaproxyImage(ref: string | undefined): boolean {
  return typeof ref === "string" && parseImageRef(ref).normalized === "haproxy";
}

/** The official Portainer CE image (`portainer/portainer-ce:<tag>`, by digest, or on docker.io). */
export function isPortainerImage(ref: string | undefined): boolean {
  return typeof ref === "string" && parseImageRef(ref).normalized === "portainer/portainer-ce";
}

/** A PostgreSQL image: its repository name is `postgres`, `postgresql` or `postgis` (any registry). */
export function isPostgresImage(ref: string | undefined): boolean {
  return typeof ref === "string" && /^(postgres|postgresql|postgis)$/.test(imageBaseName(ref));
}

/** `postgres:16.6` → 16, `postgres:15-alpine` → 15, `postgres:17.6@sha256:…` → 17; undefined without a numeric tag. */
export function postgresMajor(image: string | undefined): number | undefined {
  if (!image) return undefined;
  const match = /^(\d+)(?:[.-]|$)/.exec(parseImageRef(image).tag ?? "");
  return match ? Number(match[1]) : undefined;
}

/** A release version read from a tag. */
export interface TagVersion {
  major: number;
  minor: number;
  patch: number;
  /** `major.minor.patch` (missing parts are 0), as semver reads it. */
  version: string;
}

/** The version in a Traefik tag (`traefik:v3.6.1`, `traefik:3.6@sha256:…` → 3.6.0); undefined without one. */
export function traefikVersion(image: string | undefined): TagVersion | undefined {
  if (!image) return undefined;
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-.].*)?$/.exec(parseImageRef(image).tag ?? "");
  if (!match) return undefined;
  const [major, minor, patch] = [match[1], match[2], match[3]].map((n) => Number(n ?? 0));
  return { major, minor, patch, version: `${major}.${minor}.${patch}` };
}

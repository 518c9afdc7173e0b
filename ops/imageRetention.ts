/**
 * Image retention (m11): the program keeps every pulled image (`keepLocally`, so a rollback starts without a pull),
 * and they pile up. After a successful deploy, each API service keeps its last N versions; the running and the
 * previous version, and any image a container still uses, are never removed.
 */
import * as semver from "semver";
import { shellQuote } from "./hostShell";

/** The host command listing a repository's images, one `tag<TAB>id<TAB>created` per line. */
export function listImagesCommand(repository: string): string {
  return `docker images --no-trunc --format '{{.Tag}}\t{{.ID}}\t{{.CreatedAt}}' ${shellQuote(repository)}`;
}

/** The host command listing the image ids every container (running or not) uses. */
export const USED_IMAGES_COMMAND = "docker ps -aq --no-trunc | xargs -r docker inspect --format '{{.Image}}'";

export interface RetentionInput {
  /** Output of {@link listImagesCommand}. */
  images: string;
  /** Output of {@link USED_IMAGES_COMMAND}. */
  usedImageIds: string;
  /** Versions kept whatever their age: the running one and the previous one. */
  protectedTags: readonly string[];
  /** How many versions to keep (`ems-infra:release.keepImages`). */
  keep: number;
}

interface ImageLine {
  tag: string;
  id: string;
  created: string;
}

/** The tags to remove: all but the newest `keep` versions, never a protected tag nor an image in use. */
export function imagesToRemove(input: RetentionInput): string[] {
  const used = new Set(
    input.usedImageIds
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const lines: ImageLine[] = input.images
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [tag, id, created] = l.split("\t");
      return { tag, id, created: created ?? "" };
    })
    .filter((l) => l.tag && l.tag !== "<none>");
  const bySemver = lines.every((l) => semver.valid(l.tag) !== null);
  const newestFirst = [...lines].sort((a, b) =>
    bySemver ? semver.rcompare(a.tag, b.tag) : b.created.localeCompare(a.created),
  );
  return newestFirst
    .slice(Math.max(0, input.keep))
    .filter((l) => !input.protectedTags.includes(l.tag) && !used.has(l.id))
    .map((l) => l.tag);
}

/** The host command removing the given tags of a repository (untag; the layers go when no tag is left). */
export function removeImagesCommand(repository: string, tags: readonly string[]): string {
  return `docker rmi ${tags.map((t) => shellQuote(`${repository}:${t}`)).join(" ")}`;
}

/** The repository part of an image reference: `ghcr.io/edumigsoft/ems-server@sha256:…` → `ghcr.io/edumigsoft/ems-server`. */
export function repositoryOf(imageRef: string): string {
  const noDigest = imageRef.split("@")[0];
  const colon = noDigest.lastIndexOf(":");
  return colon > noDigest.lastIndexOf("/") ? noDigest.slice(0, colon) : noDigest;
}

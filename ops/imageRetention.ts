/**
 * Image retention (m11): the program keeps every pulled image (`keepLocally`, so a rollback starts without a pull),
 * and they pile up. After a successful deploy, each API service keeps its last N versions; the running and the
 * previous version, and any image a container still uses, are never removed.
 */
import * as semver from "semver";

export interface RetentionInput {
  /** Output of `listImagesCommand` (hostCommands/images.ts). */
  images: string;
  /** Output of `USED_IMAGES_COMMAND`. */
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

/** The repository part of an image reference: `ghcr.io/edumigsoft/ems-server@sha256:…` → `ghcr.io/edumigsoft/ems-server`. */
export function repositoryOf(imageRef: string): string {
  const noDigest = imageRef.split("@")[0];
  const colon = noDigest.lastIndexOf(":");
  return colon > noDigest.lastIndexOf("/") ? noDigest.slice(0, colon) : noDigest;
}

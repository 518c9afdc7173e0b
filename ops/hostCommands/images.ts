/** Image retention's host command lines (ops/imageRetention.ts picks what to remove). */
import { shellQuote } from "../../components/shell";

/** The host command listing a repository's images, one `tag<TAB>id<TAB>created` per line. */
export function listImagesCommand(repository: string): string {
  return `docker images --no-trunc --format '{{.Tag}}\t{{.ID}}\t{{.CreatedAt}}' ${shellQuote(repository)}`;
}

/** The host command listing the image ids every container (running or not) uses. */
export const USED_IMAGES_COMMAND = "docker ps -aq --no-trunc | xargs -r docker inspect --format '{{.Image}}'";

/** The host command removing the given tags of a repository (untag; the layers go when no tag is left). */
export function removeImagesCommand(repository: string, tags: readonly string[]): string {
  return `docker rmi ${tags.map((t) => shellQuote(`${repository}:${t}`)).join(" ")}`;
}

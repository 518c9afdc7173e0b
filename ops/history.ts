/** Reading a stack's update history, and the one-line account of an update (who, when, what). */
import type { UpdateSummary } from "@pulumi/pulumi/automation";
import type { StackLike } from "./runner/context";

/**
 * The whole update history, newest first. `pulumi stack history` returns one page (10 entries) by default,
 * so read page after page until a short (or repeated) one. Secrets are not decrypted: only versions are needed.
 */
export async function readHistory(
  stack: Pick<StackLike, "history">,
  pageSize = 100,
  maxPages = 50,
): Promise<UpdateSummary[]> {
  const all: UpdateSummary[] = [];
  const seen = new Set<number>();
  for (let page = 1; page <= maxPages; page++) {
    const batch = await stack.history(pageSize, page, false);
    const fresh = batch.filter((h) => !seen.has(h.version));
    for (const h of fresh) {
      seen.add(h.version);
      all.push(h);
    }
    if (batch.length < pageSize || fresh.length === 0) break;
  }
  return all;
}

/** `#9 update "deploy ems 1.5.0" succeeded, 2025-03-14 18:02 UTC, by root (git: Eduardo)`. */
export function describeUpdate(
  entry: Pick<UpdateSummary, "version" | "kind" | "result" | "message" | "startTime" | "environment">,
): string {
  const when = new Date(entry.startTime).toISOString().slice(0, 16).replace("T", " ");
  const env = entry.environment ?? {};
  const who = env.updatedBy ?? env["git.author"] ?? "unknown";
  const git = env.updatedBy && env["git.author"] ? ` (git: ${env["git.author"]})` : "";
  return `#${entry.version} ${entry.kind} "${entry.message || "-"}" ${entry.result}, ${when} UTC, by ${who}${git}`;
}

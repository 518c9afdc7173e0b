/** Runs image retention on the stack's host after a successful deploy (see imageRetention.ts for the rule). */
import type { Io } from "./runner/io";
import { listImagesCommand, removeImagesCommand, USED_IMAGES_COMMAND } from "./hostCommands/images";
import { imagesToRemove, repositoryOf } from "./imageRetention";
import { HistoryEntry, SERVICES_KEY, versionsOf } from "./rollbackPlan";
import { configObject, hostTargetOf } from "./runner/stackConfig";
import type { Deps, StackLike } from "./runner/context";
import { readOpsOutputs } from "./stackOutputs";
import { PROJECT, rawSchema } from "../stacks/configSchema";

/** `ems-infra:release.keepImages` read with the program's own schema (its default and its range); a bad value throws naming the key. */
export async function keepImagesOf(stack: Pick<StackLike, "getConfig">): Promise<number> {
  const parsed = rawSchema.shape.release.safeParse((await configObject(stack, "release")) ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${[`${PROJECT}:release`, ...issue.path.map(String)].join(".")}: ${issue.message}`);
  }
  return parsed.data.keepImages;
}

/** The versions of a service in the newest successful updates, newest first, distinct: the running one, then the previous. */
export function recentVersions(history: readonly HistoryEntry[], service: string, count = 2): string[] {
  const key = `${SERVICES_KEY}.${service}.version`;
  const found: string[] = [];
  for (const entry of history) {
    if (entry.kind !== "update" || entry.result !== "succeeded") continue;
    const v = versionsOf(entry)[key];
    if (v !== undefined && !found.includes(v)) found.push(v);
    if (found.length === count) break;
  }
  return found;
}

/** Removes each API service's images older than its last N versions; prints what it removed. */
export async function pruneImages(
  stack: StackLike,
  history: readonly HistoryEntry[],
  io: Io,
  deps: Pick<Deps, "host">,
): Promise<void> {
  const keep = await keepImagesOf(stack);
  const { images } = await readOpsOutputs(stack);
  const target = await hostTargetOf(stack);
  const used = await deps.host.capture(target, USED_IMAGES_COMMAND);
  if (used.code !== 0)
    throw new Error(`image retention skipped: could not list the images in use (${used.stderr.trim()})`);
  for (const [service, ref] of Object.entries(images)) {
    const repository = repositoryOf(ref);
    const listed = await deps.host.capture(target, listImagesCommand(repository));
    if (listed.code !== 0) throw new Error(`image retention skipped for ${service}: ${listed.stderr.trim()}`);
    const remove = imagesToRemove({
      images: listed.stdout,
      usedImageIds: used.stdout,
      protectedTags: recentVersions(history, service),
      keep,
    });
    if (remove.length === 0) continue;
    const code = await deps.host.run(target, removeImagesCommand(repository, remove));
    io.out(
      `${code === 0 ? "removed" : "could not remove"} old images of ${service} (keeping the last ${keep}): ${remove.join(", ")}\n`,
    );
  }
}

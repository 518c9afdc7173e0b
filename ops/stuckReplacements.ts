/**
 * The retry trap (provider-facts §2, B3): after a failed health wait the state holds the new container with
 * `initErrors` and the old, healthy one marked `delete: true`. A plain `pulumi up` then does an empty update on the
 * new one (no wait) and deletes the old one: the last healthy container goes. Replacing the new one instead
 * (`up --replace <urn>`) creates a fresh container and waits for it, and the old one stays until that succeeds.
 */
import type { Deployment } from "@pulumi/pulumi/automation";

/** A resource the last update created but could not initialise (e.g. a container that never became healthy). */
export interface StuckResource {
  urn: string;
  /** The resource's name in the program, e.g. `ems-container`. */
  name: string;
  type: string;
  initErrors: string[];
  /** True when the resource it was replacing is still in the state, pending deletion (still running). */
  oldKept: boolean;
}

interface StateResource {
  urn: string;
  type: string;
  initErrors?: string[];
  delete?: boolean;
}

/** The resources with init errors in an exported state (`stack.exportStack()`). */
export function findStuckResources(state: Deployment): StuckResource[] {
  const resources = ((state.deployment as { resources?: StateResource[] } | undefined)?.resources ??
    []) as StateResource[];
  return resources
    .filter((r) => !r.delete && (r.initErrors?.length ?? 0) > 0)
    .map((r) => ({
      urn: r.urn,
      name: r.urn.slice(r.urn.lastIndexOf("::") + 2),
      type: r.type,
      initErrors: r.initErrors ?? [],
      oldKept: resources.some((other) => other.urn === r.urn && other.delete === true),
    }));
}

/** What the operator is told before the up that replaces them. */
export function describeStuck(stuck: readonly StuckResource[]): string {
  const lines = ["The last update left resources that never finished starting:"];
  for (const s of stuck) {
    lines.push(`  ${s.name} (${s.type}): ${s.initErrors.map((e) => e.trim()).join("; ")}`);
    if (s.oldKept)
      lines.push(`    the one it replaces is still running (pending delete) and is kept until the new one is healthy`);
  }
  lines.push(
    "This run replaces them (pulumi up --replace) instead of a plain up, which would delete the last healthy container.",
  );
  return `${lines.join("\n")}\n`;
}

/**
 * An `up` killed during a create (provider-facts §9) leaves `pending_operations` in the state: a "creating" entry
 * with the resource's inputs and no id. The container it was creating may exist on the host, unknown to the state:
 * a fixed-name one (Traefik, Postgres, Portainer) then makes every later `up` fail with a name conflict, and an API
 * one keeps serving with the system's router labels. The release flow finds them here, removes the orphan (found
 * by the pending resource's name, checked by the system's labels), clears the pending creates (`pulumi refresh
 * --clear-pending-creates`) and then deploys.
 */
import type { Deployment, RefreshOptions, RefreshResult } from "@pulumi/pulumi/automation";
import { isRecord } from "../stacks/configErrors";
import { ENVIRONMENT_LABEL, SERVICE_LABEL, SYSTEM_LABEL } from "../stacks/opsContract";
import type { SystemSelector } from "./hostCommands/containers";
import { ORPHAN_COMMANDS } from "./hostCommands/engine";
import type { BoundShell } from "./runner/hostShell";

export { ORPHAN_COMMANDS } from "./hostCommands/engine";

const CONTAINER_TYPE = "docker:index/container:Container";

/** An operation the killed update had begun (`deployment.pending_operations[]`). */
export interface PendingOperation {
  urn: string;
  /** The resource's name in the program, e.g. `traefik-container`. */
  name: string;
  type: string;
  /** `creating`, `updating`, `deleting`, `reading`, `importing`. */
  operation: string;
  /** A container's `name` input (fixed, or the autoname the engine gave it before the create). */
  containerName?: string;
  /** Its `com.ems.*` labels, when its labels are readable (not a secret). */
  identity: Record<string, string>;
  /** Its `destroyGraceSeconds` (0 when unset): how long the orphan gets to stop, as the provider's delete. */
  graceSeconds: number;
}

/** The pending operations of an exported state (`stack.exportStack()`), in the state's order. */
export function findPendingOperations(state: Deployment): PendingOperation[] {
  const deployment: unknown = state.deployment;
  const ops = isRecord(deployment) && Array.isArray(deployment.pending_operations) ? deployment.pending_operations : [];
  return ops.flatMap((op: unknown): PendingOperation[] => {
    if (!isRecord(op) || !isRecord(op.resource) || typeof op.resource.urn !== "string") return [];
    const urn = op.resource.urn;
    const inputs = isRecord(op.resource.inputs) ? op.resource.inputs : {};
    return [
      {
        urn,
        name: urn.slice(urn.lastIndexOf("::") + 2),
        type: typeof op.resource.type === "string" ? op.resource.type : "",
        operation: typeof op.type === "string" ? op.type : "",
        ...(typeof inputs.name === "string" && inputs.name !== "" ? { containerName: inputs.name } : {}),
        identity: identityLabels(inputs.labels),
        graceSeconds: typeof inputs.destroyGraceSeconds === "number" ? inputs.destroyGraceSeconds : 0,
      },
    ];
  });
}

/** The `com.ems.*` entries of a container's `labels` input (`[{label, value}]`); none when it is a secret. */
function identityLabels(labels: unknown): Record<string, string> {
  if (!Array.isArray(labels)) return {};
  return Object.fromEntries(
    labels.flatMap((l: unknown) =>
      isRecord(l) && typeof l.label === "string" && l.label.startsWith("com.ems.") && typeof l.value === "string"
        ? [[l.label, l.value]]
        : [],
    ),
  );
}

/** What the release does about one pending operation. */
type RecoveryStep =
  | { kind: "remove-orphan"; pending: PendingOperation }
  | { kind: "clear"; pending: PendingOperation }
  | { kind: "note"; pending: PendingOperation };

export interface RecoveryPlan {
  steps: RecoveryStep[];
  /** Whether a refresh with clear-pending-creates runs before the up. */
  clearPendingCreates: boolean;
}

/** The plan for a state's pending operations: containers being created are looked for on the host and removed. */
export function recoveryPlan(pending: readonly PendingOperation[]): RecoveryPlan {
  const steps = pending.map((p): RecoveryStep => {
    if (p.operation !== "creating") return { kind: "note", pending: p };
    return p.type === CONTAINER_TYPE ? { kind: "remove-orphan", pending: p } : { kind: "clear", pending: p };
  });
  return { steps, clearPendingCreates: steps.some((s) => s.kind !== "note") };
}

/** What the operator is told before the preview. */
export function describeRecovery(plan: RecoveryPlan): string {
  if (plan.steps.length === 0) return "";
  const lines = ["The last update was interrupted: the state holds operations it never finished:"];
  for (const { kind, pending: p } of plan.steps) {
    lines.push(`  ${p.operation} ${p.name} (${p.type})`);
    if (kind === "remove-orphan")
      lines.push(
        `    the container it was creating${p.containerName ? ` (${p.containerName})` : ""} may exist on the host ` +
          `without being in the state: it is removed (after ${p.graceSeconds} s to stop), then created again by the up`,
      );
    else if (kind === "clear")
      lines.push(`    cleared from the state and created again by the up (a leftover on the host is not removed)`);
    else lines.push(`    nothing to do: the engine drops it on the next update`);
  }
  if (plan.clearPendingCreates)
    lines.push(
      "After the confirmation, before the up: the orphans are removed and the pending creates cleared " +
        "(pulumi refresh --clear-pending-creates, which also re-reads every resource).",
    );
  return `${lines.join("\n")}\n`;
}

/** What was found on the host for one pending container. */
export type OrphanVerdict =
  { found: false } | { found: true; id: string; ours: true } | { found: true; id: string; ours: false; why: string };

/** Parses {@link ORPHAN_COMMANDS.find}'s output and judges whether the container is the system's own. */
export function judgeOrphan(output: string, pending: PendingOperation, scope: SystemSelector): OrphanVerdict {
  const line = output.trim().split("\n")[0] ?? "";
  if (line === "") return { found: false };
  const space = line.indexOf(" ");
  const id = space < 0 ? line : line.slice(0, space);
  let labels: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(space < 0 ? "null" : line.slice(space + 1));
    if (isRecord(parsed)) labels = parsed as Record<string, string>;
  } catch {
    // no readable labels: not ours
  }
  const want: Record<string, string> = {
    [SYSTEM_LABEL]: scope.system,
    [ENVIRONMENT_LABEL]: scope.environment,
    ...(pending.identity[SERVICE_LABEL] ? { [SERVICE_LABEL]: pending.identity[SERVICE_LABEL] } : {}),
  };
  const wrong = Object.entries(want).filter(([k, v]) => labels[k] !== v);
  if (wrong.length === 0) return { found: true, id, ours: true };
  return {
    found: true,
    id,
    ours: false,
    why: wrong.map(([k, v]) => `${k}=${labels[k] ?? "(none)"}, not ${v}`).join("; "),
  };
}

/**
 * Removes the orphans of the plan's pending container creates; returns what it did, one line each. Throws (before
 * the up, nothing else changed) when a container by that name is not the system's, or cannot be removed.
 */
export async function removeOrphans(
  plan: RecoveryPlan,
  shell: BoundShell,
  scope: SystemSelector,
  dockerHost?: string,
): Promise<string[]> {
  const done: string[] = [];
  for (const step of plan.steps) {
    if (step.kind !== "remove-orphan") continue;
    const p = step.pending;
    if (!p.containerName) {
      done.push(
        `${p.name}: the pending create has no container name: nothing to look for on ${dockerHost ?? shell.where}`,
      );
      continue;
    }
    const found = await shell.run(ORPHAN_COMMANDS.find(p.containerName, dockerHost), { timeoutMs: 60_000 });
    if (found.code !== 0)
      throw new Error(
        `cannot look for container ${p.containerName} on ${dockerHost ?? shell.where}: ${found.stderr.trim()}`,
      );
    const verdict = judgeOrphan(found.stdout, p, scope);
    if (!verdict.found) {
      done.push(
        `${p.name}: no container ${p.containerName} on ${dockerHost ?? shell.where} (the create never reached the engine)`,
      );
      continue;
    }
    if (!verdict.ours)
      throw new Error(
        `a container named ${p.containerName} exists on ${dockerHost ?? shell.where} but is not this system's (${verdict.why}): ` +
          `it is left alone; remove or rename it by hand, then run again`,
      );
    const removed = await shell.run(ORPHAN_COMMANDS.remove(verdict.id, p.graceSeconds, dockerHost), {
      timeoutMs: (p.graceSeconds + 60) * 1000,
    });
    if (removed.code !== 0)
      throw new Error(
        `cannot remove the orphan container ${p.containerName} on ${dockerHost ?? shell.where}: ${removed.stderr.trim()}`,
      );
    done.push(`${p.name}: removed the orphan container ${p.containerName} (${verdict.id.slice(0, 12)})`);
  }
  return done;
}

/**
 * The recovery itself, after the operator's yes and before the up (the release flow and the cut-over): the orphans
 * removed, then the pending creates cleared by a refresh. Prints one line per step; throws when it cannot.
 */
export async function clearInterrupted(
  stack: { refresh(opts?: RefreshOptions): Promise<RefreshResult> },
  plan: RecoveryPlan,
  host: { shell: BoundShell; selector: SystemSelector; dockerHost?: string },
  out: (text: string) => void,
  color?: "always" | "never",
): Promise<void> {
  for (const line of await removeOrphans(plan, host.shell, host.selector, host.dockerHost)) out(`${line}\n`);
  out("\nClearing the pending creates (pulumi refresh --clear-pending-creates)…\n");
  await stack.refresh({ clearPendingCreates: true, onOutput: out, ...(color ? { color } : {}) });
}

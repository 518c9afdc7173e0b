/**
 * What the operations that stop a live system (the cut-over, the platform switch) do before their first change:
 * show the plan, stop there on a dry run or a "no", and note each container's restart policy for the undo.
 */
import { CUTOVER_COMMANDS as C } from "./hostCommands/cutover";
import type { BoundShell } from "./runner/hostShell";

/** What the plan needs from the run. */
export interface PlanDeps {
  log: (line: string) => void;
  confirm: (question: string) => Promise<boolean>;
}

/** Prints the plan; "planned" on a dry run and "cancelled" on a no, with the line saying nothing changed. */
export async function showPlanAndConfirm(
  deps: PlanDeps,
  shell: Pick<BoundShell, "where">,
  plan: readonly string[],
  dryRun: boolean,
  question: string,
): Promise<"go" | "planned" | "cancelled"> {
  deps.log(`plan (on ${shell.where}):\n  ${plan.join("\n  ")}`);
  if (dryRun) {
    deps.log("dry run: nothing was changed");
    return "planned";
  }
  if (!(await deps.confirm(question))) {
    deps.log("cancelled: nothing was changed");
    return "cancelled";
  }
  return "go";
}

/** Each container's restart policy, put back by the undo (`unless-stopped` when it cannot be read). */
export async function restartPolicies(shell: BoundShell, names: readonly string[]): Promise<Record<string, string>> {
  const policies: Record<string, string> = {};
  for (const name of names) {
    const r = await shell.run(C.restartPolicy(name));
    policies[name] = r.code === 0 && r.stdout.trim() ? r.stdout.trim() : "unless-stopped";
  }
  return policies;
}

/**
 * What a run does with the journal of an interrupted one: undo it (when asked, or when the undo itself was
 * interrupted), stop there on a dry run, or resume it from its step. `oldSystem` names what the undo starts again.
 */
export function continueInterrupted<R>(
  log: (line: string) => void,
  journal: { step: string },
  options: { undo: boolean; dryRun: boolean },
  oldSystem: string,
  steps: { undo: (reason: string) => Promise<R>; resume: () => Promise<R> },
): Promise<R | { outcome: "planned" }> {
  if (options.undo || journal.step === "undo")
    return steps.undo(options.undo ? "asked to undo (--undo)" : "finishing an interrupted undo");
  if (options.dryRun) {
    log(`dry run: run again to resume it, or with --undo to start ${oldSystem} again; nothing was changed`);
    return Promise.resolve({ outcome: "planned" });
  }
  log(`resuming it (run with --undo instead to start ${oldSystem} again)`);
  return steps.resume();
}

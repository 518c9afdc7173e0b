/**
 * The one release flow deploy, rollback and rotate share:
 * (after the runner printed the target) find resources a failed update left half-made (B3) and the operations an
 * interrupted one left pending (§9) → set config → pre-flight (the target Docker engine: its API version and swap
 * accounting, written as `ems-infra:engine.*` for the containers to adapt; the configured Traefik can talk to it,
 * provider-facts B2) → preview (with the replacements) → print what restarts → confirm → remove the interrupted
 * creates' orphan containers and clear the pending creates → up → on failure, what to do and the unhealthy
 * containers' logs. Every failure or "no" before the confirmation puts the config back as it was.
 */
import type { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { formatResourceChanges, hasChanges } from "./changes";
import { confirm, describeError, Io } from "./runner/io";
import { reportUnhealthy } from "./containers";
import { boundShell } from "./runner/hostShell";
import { engineTooOld, planEngine, readEngine, storedFacts } from "./engineFacts";
import { clearInterrupted, describeRecovery, findPendingOperations, RecoveryPlan, recoveryPlan } from "./interrupted";
import { engineArchVerdict, traefikDockerVerdict } from "./engineVerdicts";
import {
  configObject,
  configValue,
  dockerHostConfig,
  hostTargetOf,
  systemSelectorOf,
  traefikConfigOf,
} from "./runner/stackConfig";
import { checkDataVolume, dataVolumeOf } from "./dataVolume";
import { checkPlatformUnchanged } from "./platformChange";
import { describeStuck, findStuckResources } from "./stuckReplacements";
import { Deps, policyPacks, StackLike } from "./runner/context";
import { readOpsOutputs } from "./stackOutputs";

/** A config value the release sets before its preview. */
export interface ConfigEdit {
  key: string;
  value: string;
  /** `--path`: the key reaches into an object (`ems-infra:services.ems.version`). */
  path?: boolean;
  /** `--secret`: the value is encrypted in the stack file and never printed. */
  secret?: boolean;
}

export interface ReleasePlan {
  /** What goes out, for messages: `ems 1.5.0`, `the versions of update #12`. */
  what: string;
  /** The confirmation question, e.g. `Deploy ems 1.5.0 to stack prod?`. */
  question: string;
  /** The update's message in the stack history. */
  message: string;
  /** Config set before the preview, put back when nothing is deployed. */
  edits: readonly ConfigEdit[];
  /** URNs to replace (a rotated generated secret). */
  replace: readonly string[];
  /** Do not ask. */
  yes: boolean;
  /** Printed when the preview proposes nothing. */
  nothingToDo: string;
  /** Printed after a failed up: how to go on, or back. */
  afterFailure: string;
  /** Printed after a successful up, before the update number. */
  done: string;
  /** Runs after a successful up (image retention); its failure is reported, not fatal. */
  afterSuccess?: (result: UpResult) => Promise<void>;
}

/** Runs a release; resolves with the exit code (0 deployed or nothing to do, 1 failed or refused). */
export async function release(stack: StackLike, plan: ReleasePlan, io: Io, deps: Deps): Promise<number> {
  const undo = new ConfigUndo(stack);
  try {
    const state = await stack.exportStack();
    const stuck = findStuckResources(state);
    if (stuck.length) io.out(describeStuck(stuck));
    const recovery = recoveryPlan(findPendingOperations(state));
    io.out(describeRecovery(recovery));
    const replace = [...new Set([...plan.replace, ...stuck.map((s) => s.urn)])];

    const apply = async (edit: ConfigEdit) => {
      const before = await undo.remember(edit);
      await stack.setConfig(edit.key, { value: edit.value, secret: edit.secret }, edit.path);
      io.out(`set ${edit.key}: ${edit.secret ? "a new secret value" : `${before ?? "(unset)"} → ${edit.value}`}\n`);
    };
    for (const edit of plan.edits) await apply(edit);
    await checkPlatformUnchanged(stack);
    for (const edit of await enginePreflight(stack, io, deps)) await apply(edit);
    await dataVolumePreflight(stack, io, deps);

    const packs = policyPacks(deps);
    const color = io.isTTY ? "always" : "never";
    const restarts = new RestartCollector();
    io.out(
      `\nPreviewing stack ${stack.name}${packs ? " (with the policy pack)" : ""}${replace.length ? `, replacing ${replace.length} resource(s)` : ""}…\n`,
    );
    const preview = await stack.preview({
      diff: true,
      onOutput: io.out,
      onEvent: restarts.onEvent,
      policyPacks: packs,
      color,
      ...(replace.length ? { replace } : {}),
    });
    if (!hasChanges(preview.changeSummary) && replace.length === 0 && !recovery.clearPendingCreates) {
      io.out(`\n${plan.nothingToDo} (${formatResourceChanges(preview.changeSummary)})\n`);
      return 0;
    }
    io.out(`\nplanned: ${formatResourceChanges(preview.changeSummary)}\n${restarts.describe()}`);

    if (!plan.yes && !(await confirm(io, plan.question))) {
      io.err(`aborted: nothing deployed${await undo.run()}\n`);
      return 1;
    }
    undo.forget();

    if (recovery.clearPendingCreates && !(await recoverInterrupted(stack, recovery, io, deps, color))) return 1;

    let result: UpResult;
    try {
      result = await stack.up({
        onOutput: io.out,
        policyPacks: packs,
        color,
        message: plan.message,
        ...(replace.length ? { replace } : {}),
      });
    } catch (error) {
      io.err(`error: pulumi up failed on stack ${stack.name}: ${describeError(error)}\n${plan.afterFailure}\n`);
      io.err(await diagnose(stack, deps));
      return 1;
    }
    io.out(
      `\n${plan.done} (update #${result.summary.version}): ${formatResourceChanges(result.summary.resourceChanges)}\n`,
    );
    if (plan.afterSuccess) {
      try {
        await plan.afterSuccess(result);
      } catch (error) {
        io.err(`warning: ${describeError(error)}\n`);
      }
    }
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}${await undo.run()}\n`);
    return 1;
  }
}

/**
 * Before anything is previewed, the engine the program drives (`docker.host`, else the ssh host's, else this
 * machine's): refused when older than the program supports or of an architecture ems-run is not built for, or when
 * the configured Traefik cannot talk to it (provider-facts B2); otherwise its facts, as the config edits that make
 * the containers adapt to it (each adaptation printed with what it replaces).
 */
async function enginePreflight(stack: StackLike, io: Io, deps: Deps): Promise<ConfigEdit[]> {
  const { shell, dockerHost } = await engineShell(stack, deps);
  const engine = await readEngine(shell, dockerHost).catch((error: unknown) => {
    throw new Error(`pre-flight: ${describeError(error)}`);
  });
  const arch = engineArchVerdict(engine);
  const refusal = engineTooOld(engine) ?? (arch.ok ? undefined : arch.message);
  if (refusal) throw new Error(`pre-flight: ${refusal}`);
  const traefik = await traefikConfigOf(stack);
  if (traefik.manage) {
    const verdict = traefikDockerVerdict(traefik.image, engine);
    if (!verdict.ok) throw new Error(`pre-flight: ${verdict.message}`);
    io.out(`pre-flight: ${verdict.message}\n`);
  }
  const swap = engine.swapLimit ? "keeps swap limits" : "keeps no swap limit";
  io.out(`pre-flight: Docker Engine ${engine.version} (API ${engine.apiVersion}) ${swap}\n`);
  const plan = planEngine(engine, storedFacts(await configObject(stack, "engine")));
  for (const note of plan.notes) io.out(`pre-flight: ${note}\n`);
  return plan.edits;
}

/** Where the engine's docker commands run: this machine with `-H docker.host`, else the stack's host. */
async function engineShell(stack: StackLike, deps: Deps) {
  const dockerHost = await dockerHostConfig(stack);
  return { shell: boundShell(dockerHost ? "local" : await hostTargetOf(stack), deps.host), dockerHost };
}

/**
 * After the confirmation: removes the orphan containers of the interrupted creates and clears the pending creates
 * (a refresh), so the up creates them afresh. False (and told why) when it cannot: nothing was deployed.
 */
async function recoverInterrupted(
  stack: StackLike,
  recovery: RecoveryPlan,
  io: Io,
  deps: Deps,
  color: "always" | "never",
): Promise<boolean> {
  try {
    const { shell, dockerHost } = await engineShell(stack, deps);
    const selector = await systemSelectorOf(stack);
    await clearInterrupted(stack, recovery, { shell, selector, dockerHost }, io.out, color);
    return true;
  } catch (error) {
    io.err(
      `error: the interrupted update could not be cleaned up, nothing was deployed: ${describeError(error)}\n` +
        `Once fixed, run this command again.\n`,
    );
    return false;
  }
}

/** One PostgreSQL per data volume: no container the stack does not own may mount it (ops/dataVolume.ts). */
async function dataVolumePreflight(stack: StackLike, io: Io, deps: Deps): Promise<void> {
  const dockerHost = await dockerHostConfig(stack);
  const shell = boundShell(dockerHost ? "local" : await hostTargetOf(stack), deps.host);
  io.out(`${await checkDataVolume(shell, await dataVolumeOf(stack), dockerHost)}\n`);
}

/** The unhealthy or exited containers of the stack after a failed up; never throws. */
async function diagnose(stack: StackLike, deps: Deps): Promise<string> {
  try {
    // The outputs of the update that just failed, when it got that far; else the config's system (a first deploy).
    const outputs = await readOpsOutputs(stack).catch(() => undefined);
    const report = await reportUnhealthy(
      deps.host,
      await hostTargetOf(stack),
      outputs ?? (await systemSelectorOf(stack)),
      outputs?.containers ?? {},
    );
    return `Containers of stack ${stack.name} that are not running healthy:\n${report}`;
  } catch (error) {
    return `(could not read the containers' state: ${describeError(error)})\n`;
  }
}

/** The container replacements a preview announces: what restarts. */
class RestartCollector {
  private readonly replaced = new Set<string>();
  private readonly created = new Set<string>();

  readonly onEvent = (event: EngineEvent): void => {
    const meta = event.resourcePreEvent?.metadata;
    if (!meta || !meta.type.startsWith("docker:index/container:")) return;
    const name = meta.urn.slice(meta.urn.lastIndexOf("::") + 2);
    if (meta.op === "replace" || meta.op === "create-replacement") this.replaced.add(name);
    else if (meta.op === "create") this.created.add(name);
  };

  describe(): string {
    const lines: string[] = [];
    if (this.replaced.size) lines.push(`restarts (replaced): ${[...this.replaced].join(", ")}`);
    if (this.created.size) lines.push(`starts (new): ${[...this.created].join(", ")}`);
    if (!lines.length) lines.push("restarts: no container");
    return `${lines.join("\n")}\n`;
  }
}

/** Puts config edits back as they were; tells how to do it by hand when it cannot. */
class ConfigUndo {
  private readonly previous: Array<{ edit: ConfigEdit; value: string | undefined }> = [];

  constructor(private readonly stack: StackLike) {}

  /** Records the value before the edit, and returns it. */
  async remember(edit: ConfigEdit): Promise<string | undefined> {
    const value = await configValue(this.stack, edit.key, edit.path);
    this.previous.push({ edit, value });
    return value;
  }

  forget(): void {
    this.previous.length = 0;
  }

  /** Restores; returns the `; …` suffix of the message the operator is shown. */
  async run(): Promise<string> {
    if (this.previous.length === 0) return "";
    const failed: string[] = [];
    let reason = "";
    for (const { edit, value } of [...this.previous].reverse()) {
      try {
        if (value === undefined) await this.stack.removeConfig(edit.key, edit.path);
        else await this.stack.setConfig(edit.key, { value, secret: edit.secret }, edit.path);
      } catch (error) {
        reason ||= describeError(error);
        failed.push(manualRestore(this.stack.name, edit, value));
      }
    }
    const restored =
      this.previous.length === 1 ? describeRestored(this.previous[0]) : "the stack config is back as it was";
    this.previous.length = 0;
    return failed.length
      ? `; could not restore the config (${reason}), do it with:\n  ${failed.join("\n  ")}`
      : `; ${restored}`;
  }
}

function describeRestored({ edit, value }: { edit: ConfigEdit; value: string | undefined }): string {
  if (value === undefined) return `${edit.key} is unset again`;
  return edit.secret ? `${edit.key} is back to its previous value` : `${edit.key} is back to ${value}`;
}

function manualRestore(stackName: string, edit: ConfigEdit, value: string | undefined): string {
  const path = edit.path ? " --path" : "";
  if (value === undefined) return `pulumi config rm${path} ${edit.key} --stack ${stackName}`;
  // A secret's old value is never printed: the new one stays, and the next deploy applies it.
  if (edit.secret) return `(${edit.key} keeps its new, undeployed value: the next deploy applies it)`;
  return `pulumi config set${path} ${edit.key} ${value} --stack ${stackName}`;
}

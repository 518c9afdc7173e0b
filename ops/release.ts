/**
 * The one release flow deploy, rollback and rotate share:
 * (after the runner printed the target) find resources a failed update left half-made (B3) → set config → pre-flight (the configured
 * Traefik can talk to the target Docker engine, provider-facts B2) → preview (with the
 * replacements) → print what restarts → confirm → up → on failure, what to do and the unhealthy containers' logs.
 * Every failure or "no" before `up` puts the config back as it was.
 */
import type { EngineEvent, UpResult } from "@pulumi/pulumi/automation";
import { formatResourceChanges, hasChanges } from "./changes";
import { confirm, describeError, Io } from "./runner/io";
import { reportUnhealthy } from "./containers";
import { boundShell } from "./runner/hostShell";
import { checkTraefikEngine } from "./preflight";
import { checkDataVolume, dataVolumeOf } from "./dataVolume";
import { configValue, dockerHostConfig, hostTargetOf, systemSelectorOf, traefikConfigOf } from "./runner/stackConfig";
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
    const stuck = findStuckResources(await stack.exportStack());
    if (stuck.length) io.out(describeStuck(stuck));
    const replace = [...new Set([...plan.replace, ...stuck.map((s) => s.urn)])];

    for (const edit of plan.edits) {
      const before = await undo.remember(edit);
      await stack.setConfig(edit.key, { value: edit.value, secret: edit.secret }, edit.path);
      io.out(`set ${edit.key}: ${edit.secret ? "a new secret value" : `${before ?? "(unset)"} → ${edit.value}`}\n`);
    }

    await traefikPreflight(stack, io, deps);
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
    if (!hasChanges(preview.changeSummary) && replace.length === 0) {
      io.out(`\n${plan.nothingToDo} (${formatResourceChanges(preview.changeSummary)})\n`);
      return 0;
    }
    io.out(`\nplanned: ${formatResourceChanges(preview.changeSummary)}\n${restarts.describe()}`);

    if (!plan.yes && !(await confirm(io, plan.question))) {
      io.err(`aborted: nothing deployed${await undo.run()}\n`);
      return 1;
    }
    undo.forget();

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
 * Provider-facts B2, before anything is previewed: the configured Traefik (after the release's edits) must be
 * able to talk to the engine the program drives (`docker.host`, else the ssh host's, else this machine's).
 */
async function traefikPreflight(stack: StackLike, io: Io, deps: Deps): Promise<void> {
  const traefik = await traefikConfigOf(stack);
  if (!traefik.manage) return;
  const dockerHost = await dockerHostConfig(stack);
  const shell = boundShell(dockerHost ? "local" : await hostTargetOf(stack), deps.host);
  const verdict = await checkTraefikEngine(shell, traefik.image, dockerHost);
  if (!verdict.ok) throw new Error(`pre-flight: ${verdict.message}`);
  io.out(`pre-flight: ${verdict.message}\n`);
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

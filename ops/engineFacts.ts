/**
 * The pre-flight's questions to the Docker engine a changing command acts on (provider-facts §9): its API version
 * and whether it keeps swap limits. The answers go to the program as `ems-infra:engine.apiVersion` and
 * `ems-infra:engine.swapLimit` (stacks/configSchema.ts), and the containers adapt (components/engine.ts); an engine
 * older than the program supports is refused. Pure parsers and plans, and one reader over a {@link BoundShell}.
 */
import { z } from "zod";
import {
  apiAtLeast,
  engineCapabilities,
  EngineCapabilities,
  MIN_ENGINE_API,
  START_INTERVAL_API,
} from "../components/engine";
import { engineSchema, PROJECT } from "../stacks/configSchema";
import { ENGINE_COMMANDS } from "./hostCommands/engine";
import { EngineVersion, parseEngineVersion } from "./engineVerdicts";
import type { BoundShell } from "./runner/hostShell";

export { ENGINE_COMMANDS } from "./hostCommands/engine";

/** The config keys the facts are written to (with `--path`). */
const ENGINE_KEYS = {
  apiVersion: `${PROJECT}:engine.apiVersion`,
  swapLimit: `${PROJECT}:engine.swapLimit`,
} as const;

/** What the engine answered. */
export interface EngineFacts extends EngineVersion {
  /** `docker info`'s SwapLimit: false on a kernel without swap accounting ("WARNING: No swap limit support"). */
  swapLimit: boolean;
}

const swapLimitAnswer = z.enum(["true", "false"]).transform((v) => v === "true");

/** `docker info --format '{{json .SwapLimit}}'` → the flag. */
export function parseSwapLimit(output: string): boolean {
  const parsed = swapLimitAnswer.safeParse(output.trim());
  if (!parsed.success)
    throw new Error(`cannot read the Docker engine's SwapLimit from ${JSON.stringify(output.trim())}`);
  return parsed.data;
}

/** Asks the engine (through `shell`, or at `dockerHost`); throws naming the host when it cannot be read. */
export async function readEngine(shell: BoundShell, dockerHost?: string): Promise<EngineFacts> {
  const where = dockerHost ?? shell.where;
  const ask = async (command: string, what: string) => {
    const r = await shell.run(command, { timeoutMs: 60_000 });
    if (r.code !== 0)
      throw new Error(
        `cannot read the Docker engine ${what} on ${where} (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`,
      );
    return r.stdout;
  };
  const version = parseEngineVersion(await ask(ENGINE_COMMANDS.version(dockerHost), "version"));
  const swapLimit = parseSwapLimit(await ask(ENGINE_COMMANDS.swapLimit(dockerHost), "swap accounting"));
  return { ...version, swapLimit };
}

/** The refusal of an engine older than the program supports, or undefined. */
export function engineTooOld(engine: EngineVersion): string | undefined {
  if (apiAtLeast(engine.apiVersion, MIN_ENGINE_API)) return undefined;
  return (
    `Docker Engine ${engine.version} speaks API ${engine.apiVersion}; the program needs API ${MIN_ENGINE_API} ` +
    `(Docker 20.10) or later: upgrade Docker on the host`
  );
}

/** A config edit the pre-flight asks the release to make (put back like the release's own when nothing deploys). */
interface EngineEdit {
  key: string;
  value: string;
  path: true;
}

export interface EnginePlan {
  /** The facts as config, when they differ from what the stack holds. */
  edits: EngineEdit[];
  /** One line per adaptation: what the program registers on this engine and what it replaces. */
  notes: string[];
}

/** The facts the stack holds now (`ems-infra:engine`), parsed as the program parses them. */
export function storedFacts(raw: unknown): { apiVersion?: string; swapLimit?: boolean } {
  const parsed = engineSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : {};
}

/**
 * What the program registers on `engine`, against what it registered with the stored facts: each adaptation
 * said once, with the replacement a change of it causes.
 */
export function planEngine(engine: EngineFacts, stored: { apiVersion?: string; swapLimit?: boolean }): EnginePlan {
  const before: EngineCapabilities = engineCapabilities(stored);
  const after = engineCapabilities(engine);
  const edits: EngineEdit[] = [];
  if (stored.apiVersion !== engine.apiVersion)
    edits.push({ key: ENGINE_KEYS.apiVersion, value: engine.apiVersion, path: true });
  if (stored.swapLimit !== engine.swapLimit)
    edits.push({ key: ENGINE_KEYS.swapLimit, value: String(engine.swapLimit), path: true });

  const notes: string[] = [];
  const engineText = `Docker Engine ${engine.version} (API ${engine.apiVersion})`;
  if (!after.healthcheckStartInterval) {
    notes.push(
      `${engineText} is older than API ${START_INTERVAL_API}: the API containers are registered without ` +
        `healthcheck.startInterval (the provider refuses it there), so a new version is probed first one ` +
        `intervalSeconds after it starts`,
    );
  }
  if (before.healthcheckStartInterval !== after.healthcheckStartInterval) {
    notes.push(
      after.healthcheckStartInterval
        ? `the API containers' healthcheck gains startInterval: this deploy replaces each deployed API container ` +
            `once (health-gated: the old one serves until the new one is healthy)`
        : `the API containers' healthcheck loses startInterval: a deployed API container whose healthcheck has it ` +
            `is replaced once (health-gated)`,
    );
  }
  if (!after.swapLimit) {
    notes.push(
      `${engineText} keeps no swap limit (no swap accounting) and reads every memorySwap back as -1: the ` +
        `containers are registered with memorySwap -1, so an up no longer replaces the API containers for it`,
    );
  }
  if (before.swapLimit !== after.swapLimit && after.swapLimit) {
    notes.push(
      `memorySwap goes back to each container's memory limit: this deploy replaces each deployed API container ` +
        `once and updates Traefik, Postgres and Portainer in place (no restart)`,
    );
  }
  return { edits, notes };
}

/**
 * What the Docker engine the containers run on can do, and how the containers adapt to it (provider-facts §9):
 * the pinned provider's Docker client refuses `healthcheck.startInterval` below Engine API 1.44, and an engine
 * without swap accounting reads any `memorySwap` back as -1.
 */

/** The oldest Engine API the program supports: Docker 20.10, the oldest engine it is tested on. */
export const MIN_ENGINE_API = "1.41";
/** The first Engine API that takes a healthcheck start interval (Docker 25). */
export const START_INTERVAL_API = "1.44";

/** The engine's capabilities the containers depend on. */
export interface EngineCapabilities {
  /** `healthcheck.startInterval` can be set (Engine API ≥ 1.44). */
  healthcheckStartInterval: boolean;
  /** A swap limit is kept (swap accounting on); without it the engine reads every `memorySwap` back as -1. */
  swapLimit: boolean;
}

/** A current engine (Docker 25 or later, with swap accounting): what the containers assume when not told. */
export const CURRENT_ENGINE: EngineCapabilities = { healthcheckStartInterval: true, swapLimit: true };

/** Whether Engine API version `version` (`1.41`) is `min` or later. */
export function apiAtLeast(version: string, min: string): boolean {
  const [a, b] = [version, min].map((v) => v.split(".").map(Number));
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1];
}

/** The capabilities of an engine as the pre-flight found it; an unknown fact keeps {@link CURRENT_ENGINE}'s. */
export function engineCapabilities(facts: { apiVersion?: string; swapLimit?: boolean }): EngineCapabilities {
  return {
    healthcheckStartInterval:
      facts.apiVersion === undefined
        ? CURRENT_ENGINE.healthcheckStartInterval
        : apiAtLeast(facts.apiVersion, START_INTERVAL_API),
    swapLimit: facts.swapLimit ?? CURRENT_ENGINE.swapLimit,
  };
}

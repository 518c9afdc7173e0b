import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CURRENT_ENGINE, EngineCapabilities } from "./engine";

/** Log rotation for every container: at most 3 files of 10 MB. */
export const LOG_ROTATION = {
  logDriver: "json-file",
  logOpts: { "max-size": "10m", "max-file": "3" },
} satisfies Pick<docker.ContainerArgs, "logDriver" | "logOpts">;

/**
 * Inputs the provider reads back differently from what was set, ignored so an unchanged stack shows no diff:
 * a daemon's default `log-opts` (daemon.json) are merged into every container's and read back, and `logOpts`
 * forces a replacement (provider-facts M3). The container's own rotation still applies when it is created.
 */
export const READ_BACK_IGNORED = ["logOpts"];

/** Hardening shared by every container. */
export const HARDENING = {
  securityOpts: ["no-new-privileges:true"],
  restart: "unless-stopped",
} satisfies Pick<docker.ContainerArgs, "securityOpts" | "restart">;

/**
 * A memory limit with swap capped at the same value: Docker stores MemorySwap = 2 x Memory when swap is left
 * unset, the provider reads it back, and every `pulumi up` would then show an update (provider-facts M2).
 * Without swap accounting the engine keeps no swap limit and reads any value back as -1 (provider-facts §9):
 * there the limit is registered as -1 (no swap limit, what the engine does anyway), so the read-back matches.
 */
export function memoryLimit(
  mb: number,
  engine: EngineCapabilities = CURRENT_ENGINE,
): { memory: number; memorySwap: number } {
  return { memory: mb, memorySwap: engine.swapLimit ? mb : -1 };
}

/**
 * A number of seconds as Go's Duration.String() writes it (`60` → `1m0s`, `120` → `2m0s`, `5` → `5s`): the
 * provider reads healthcheck durations back that way, and any other spelling is a diff on every run.
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0)
    throw new Error(`goDuration: ${seconds} is not a whole number of seconds`);
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Container labels from a plain map, sorted so the order never shows up as a diff. */
export function toLabels(map: Record<string, string>): { label: string; value: string }[] {
  return Object.keys(map)
    .sort()
    .map((label) => ({ label, value: map[label] }));
}

/**
 * A named data volume that may already exist (the compose volume on today's VPS is adopted by its name). The
 * engine returns an existing volume with compose's labels: they must not read as a change, which would replace
 * (and so delete) the volume (provider-facts M4). With `protectData` it can be neither destroyed nor replaced.
 * `provider` is the engine of the node holding it (a swarm's pinned node); absent, the parent's.
 */
export function dataVolume(
  name: string,
  volumeName: string,
  protectData: boolean | undefined,
  parent: pulumi.Resource,
  provider?: docker.Provider,
): docker.Volume {
  return new docker.Volume(
    name,
    { name: volumeName },
    { parent, provider, protect: protectData, retainOnDelete: protectData, ignoreChanges: ["labels", "driverOpts"] },
  );
}

/**
 * The stack's containers on its host, found by the labels the program sets (`com.ems.system` and
 * `com.ems.environment` together: another system of the host is never seen; API containers have generated names)
 * and by the `containers` stack output.
 * Every command here runs through the host shell (this machine or SSH).
 */
import { inspectCommand, lastExitCommand, SystemSelector, tailCommand } from "./hostCommands/containers";
import { describeHost, HostShell, HostTarget } from "./runner/hostShell";
import { SERVICE_LABEL, VERSION_LABEL } from "../stacks/opsContract";

export type { SystemSelector } from "./hostCommands/containers";

/** One container as `docker inspect` describes it. */
export interface ContainerInfo {
  id: string;
  /** Name without the leading slash. */
  name: string;
  /** `com.ems.service`, or the key of the `containers` output that named it. */
  service: string;
  /** The image reference the container was created from (`repo:tag` or `repo@sha256:…`). */
  image: string;
  /** The local image id (`sha256:…`). */
  imageId: string;
  /** `running`, `exited`, `restarting`, `created`… */
  state: string;
  /** `healthy`, `unhealthy`, `starting`, or undefined without a healthcheck. */
  health?: string;
  startedAt: string;
  createdAt: string;
  /** `.State.ExitCode`: the current run's (0 while it runs, even after a crash), the last run's when it is down. */
  exitCode: number;
  restartCount: number;
  /** A crash loop caught while it runs again: the exit code of its previous run (Docker's `die` event). */
  previousExitCode?: number;
  labels: Record<string, string>;
}

interface InspectJson {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  RestartCount: number;
  Config: { Image: string; Labels: Record<string, string> | null };
  State: { Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string } };
}

/** Parses `docker inspect` output (one JSON array, or nothing); duplicates (by id and by name) are merged. */
function parseInspect(stdout: string, serviceByName: Record<string, string> = {}): ContainerInfo[] {
  const text = stdout.trim();
  if (text === "") return [];
  const seen = new Map<string, ContainerInfo>();
  for (const c of JSON.parse(text) as InspectJson[]) {
    if (seen.has(c.Id)) continue;
    const name = c.Name.replace(/^\//, "");
    const labels = c.Config.Labels ?? {};
    seen.set(c.Id, {
      id: c.Id,
      name,
      service: labels[SERVICE_LABEL] ?? serviceByName[name] ?? name,
      image: c.Config.Image,
      imageId: c.Image,
      state: c.State.Status,
      health: c.State.Health?.Status,
      startedAt: c.State.StartedAt,
      createdAt: c.Created,
      exitCode: c.State.ExitCode,
      restartCount: c.RestartCount,
      labels,
    });
  }
  return [...seen.values()];
}

/** Running, and healthy when it has a healthcheck. */
export function isHealthy(c: ContainerInfo): boolean {
  return c.state === "running" && (c.health === undefined || c.health === "healthy");
}

/** Restarted by its policy and not serving: between two runs, or running again but not (yet) healthy. */
export function isCrashLooping(c: ContainerInfo): boolean {
  return c.restartCount > 0 && !isHealthy(c) && (c.state === "restarting" || c.state === "running");
}

/** The exit code of its last run that ended: the current state's when it is down, else the previous run's. */
export function lastExitCode(c: ContainerInfo): number | undefined {
  return c.state === "running" ? c.previousExitCode : c.exitCode;
}

/** `crash loop (restarts 5, last exit code 1)`, `exited, exit code 3`, `running, starting`… */
function describeState(c: ContainerInfo): string {
  const now = `${c.state}${c.health ? `, ${c.health}` : ""}`;
  if (isCrashLooping(c))
    return `${now}, crash loop (restarts ${c.restartCount}, last exit code ${lastExitCode(c) ?? "unknown"})`;
  return c.state === "running" ? now : `${now}, exit code ${c.exitCode}`;
}

/** The stack's containers on the host: labelled with its system and environment, plus the ones the `containers` output names. */
export async function findContainers(
  host: HostShell,
  target: HostTarget,
  selector: SystemSelector,
  named: Record<string, string> = {},
): Promise<ContainerInfo[]> {
  const serviceByName = Object.fromEntries(Object.entries(named).map(([service, name]) => [name, service]));
  const result = await host.capture(target, inspectCommand(selector, Object.values(named)));
  const stdout = result.stdout.trim();
  if (result.code !== 0 && !stdout.startsWith("[")) {
    throw new Error(
      `could not list the containers on ${describeHost(target)}: ${result.stderr.trim() || `exit ${result.code}`}`,
    );
  }
  // `docker inspect a b` prints one array per call of xargs; join them.
  const arrays = stdout.replace(/\]\s*\[/g, ",");
  const containers = parseInspect(arrays, serviceByName);
  for (const c of containers.filter((c) => c.state === "running" && isCrashLooping(c))) {
    const code = (await host.capture(target, lastExitCommand(c.id, c.createdAt))).stdout.trim();
    if (/^\d+$/.test(code)) c.previousExitCode = Number(code);
  }
  return containers;
}

/** The container a service runs now: the newest running one, else the newest of any state. */
function currentContainer(containers: readonly ContainerInfo[], service: string): ContainerInfo | undefined {
  const mine = containers.filter((c) => c.service === service).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return mine.find((c) => c.state === "running") ?? mine[0];
}

/** The container a service runs now, or an error naming the services the stack has. */
export function pickContainer(containers: readonly ContainerInfo[], service: string, stackName: string): ContainerInfo {
  const found = currentContainer(containers, service);
  if (found) return found;
  const known = [...new Set(containers.map((c) => c.service))].sort().join(", ") || "none";
  throw new Error(
    `stack ${stackName} has no container for service "${service}" on its host (services found: ${known})`,
  );
}

/** The version shown for a container: its version label, else the image tag. */
export function versionOf(c: ContainerInfo): string {
  if (c.labels[VERSION_LABEL]) return c.labels[VERSION_LABEL];
  const ref = c.image.split("@")[0];
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/") ? ref.slice(colon + 1) : "-";
}

/** The image digest shown for a container (first 12 hex digits): the pinned digest, else the image id. */
export function digestOf(c: ContainerInfo): string {
  const pinned = /@sha256:([a-f0-9]{12})/.exec(c.image);
  if (pinned) return `sha256:${pinned[1]}`;
  const id = /^sha256:([a-f0-9]{12})/.exec(c.imageId);
  return id ? `sha256:${id[1]}` : "-";
}

/**
 * After a failed deploy: for each container of the stack that is not running healthy, its state, exit code (a
 * crash loop's last non-zero one, even while Docker runs it again), restart count and last 20 log lines.
 */
export async function reportUnhealthy(
  host: HostShell,
  target: HostTarget,
  selector: SystemSelector,
  named: Record<string, string>,
): Promise<string> {
  const containers = await findContainers(host, target, selector, named);
  const bad = containers.filter((c) => !isHealthy(c));
  if (bad.length === 0)
    return containers.length
      ? "every container of the stack is running and healthy\n"
      : "the stack has no containers on the host\n";
  const parts: string[] = [];
  for (const c of bad) {
    const logs = await host.capture(target, tailCommand(c.id, 20));
    parts.push(
      `--- ${c.name} (${c.service}): ${describeState(c)}${isCrashLooping(c) ? "" : `, restarts ${c.restartCount}`}; last 20 log lines:\n` +
        `${logs.stdout.trimEnd() || "(no output)"}\n`,
    );
  }
  return parts.join("");
}

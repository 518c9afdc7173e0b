/**
 * One PostgreSQL per data volume, always: before `deploy`, `rollback` or `rotate` (ops/release.ts) and the cut-over
 * change anything, every container that mounts the stack's data volume (running or not) must be the stack's own
 * (`com.ems.system=<system>`). Docker lets two containers mount one data folder and both start; two servers on it
 * corrupt the database (a plain deploy before the cut-over, or the old compose's `up -d` after it).
 */
import { rawSchema } from "../stacks/configSchema";
import type { BoundShell } from "./runner/hostShell";
import { configObject, configValue } from "./runner/stackConfig";
import type { StackLike } from "./runner/context";
import { volumeHoldersCommand } from "./hostCommands/dataVolume";

/** The containers of that listing that are not this system's (and not in `allowed`). */
export function foreignHolders(listing: string, system: string, allowed: readonly string[] = []): string[] {
  return listing
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"))
    .filter(([name, label]) => !allowed.includes(name) && label !== system)
    .map(([name]) => name);
}

/** The refusal naming each foreign container and the command that removes it. */
export function describeForeignHolders(volume: string, names: readonly string[]): string[] {
  return names.map(
    (name) =>
      `${name} mounts the data volume ${volume} and is not this stack's: two PostgreSQL servers on one data folder ` +
      `corrupt it. Check it holds nothing you need, then remove it: docker rm -f ${name}`,
  );
}

/** The stack's system name and data volume, from its config with the program's defaults (stacks/system.ts). */
export async function dataVolumeOf(stack: Pick<StackLike, "getConfig">): Promise<{ system: string; volume: string }> {
  const system = (await configValue(stack, "ems-infra:system")) ?? "ems_system";
  const parsed = rawSchema.shape.postgres.safeParse(await configObject(stack, "postgres"));
  const pg = parsed.success ? parsed.data : { volume: undefined, dataVersion: 17 };
  return { system, volume: pg.volume ?? `${system}_pgdata_${pg.dataVersion}` };
}

/** Throws the refusal when a container the stack does not own mounts its data volume. */
export async function checkDataVolume(
  shell: BoundShell,
  target: { system: string; volume: string },
  dockerHost?: string,
): Promise<string> {
  const r = await shell.run(volumeHoldersCommand(target.volume, dockerHost), { timeoutMs: 60_000 });
  if (r.code !== 0)
    throw new Error(`pre-flight: cannot list the containers on ${target.volume}: ${(r.stderr || r.stdout).trim()}`);
  const foreign = foreignHolders(r.stdout, target.system);
  if (foreign.length > 0) throw new Error(`pre-flight: ${describeForeignHolders(target.volume, foreign).join("; ")}`);
  return `pre-flight: no container but the stack's mounts the data volume ${target.volume}`;
}

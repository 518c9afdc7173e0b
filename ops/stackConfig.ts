/** The few stack config values the ops commands read, straight from the stack (no program run). */
import type { StackLike } from "./workspace";

const PROJECT = "ems-infra";

/** A config value, or undefined when the key is not set. */
export async function configValue(stack: Pick<StackLike, "getConfig">, key: string, path = false): Promise<string | undefined> {
  try {
    return (await stack.getConfig(key, path)).value;
  } catch {
    return undefined;
  }
}

/** An object-valued config key (`ems-infra:ssh`, `ems-infra:docker`), or undefined when unset or not an object. */
export async function configObject(stack: Pick<StackLike, "getConfig">, name: string): Promise<Record<string, unknown> | undefined> {
  const raw = await configValue(stack, `${PROJECT}:${name}`);
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `ems-infra:environment` (the `com.ems.environment` label of the stack's containers). */
export async function environmentOf(stack: Pick<StackLike, "getConfig" | "name">): Promise<string> {
  const value = await configValue(stack, `${PROJECT}:environment`);
  if (!value) throw new Error(`stack ${stack.name} has no ${PROJECT}:environment config`);
  return value;
}

/** `user@host:port` of `ems-infra:ssh` (defaults root and 22, as the program's schema), or undefined. */
export async function sshTargetOf(stack: Pick<StackLike, "getConfig">): Promise<string | undefined> {
  const ssh = await configObject(stack, "ssh");
  if (!ssh || typeof ssh.host !== "string") return undefined;
  const user = typeof ssh.user === "string" ? ssh.user : "root";
  const port = typeof ssh.port === "number" || typeof ssh.port === "string" ? String(ssh.port) : "22";
  return `${user}@${ssh.host}:${port}`;
}

/** `ems-infra:docker.host`, or undefined. */
export async function dockerHostConfig(stack: Pick<StackLike, "getConfig">): Promise<string | undefined> {
  const docker = await configObject(stack, "docker");
  return typeof docker?.host === "string" && docker.host !== "" ? docker.host : undefined;
}

/** Where host commands run: the stack's `commandHost` output, else derived from `ems-infra:ssh` like the program does. */
export async function commandHostOf(stack: Pick<StackLike, "getConfig" | "outputs">): Promise<string> {
  const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
  const fromOutput = outputs.commandHost?.value;
  if (typeof fromOutput === "string" && fromOutput !== "") return fromOutput;
  return (await sshTargetOf(stack)) ?? "local";
}

/** A string-to-string map output (`containers`, `urls`), empty when absent. */
export async function mapOutput(stack: Pick<StackLike, "outputs">, name: string): Promise<Record<string, string>> {
  const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
  const value = outputs[name]?.value;
  if (typeof value !== "object" || value === null) return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/** A string output, or undefined. */
export async function stringOutput(stack: Pick<StackLike, "outputs">, name: string): Promise<string | undefined> {
  const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
  const value = outputs[name]?.value;
  return typeof value === "string" && value !== "" ? value : undefined;
}

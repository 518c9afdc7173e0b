/** The few stack config values the ops commands read, straight from the stack (no program run). */
import * as os from "os";
import type { ConfigMap } from "@pulumi/pulumi/automation";
import { StackConfig, parseStackConfig, resolveHostPath } from "../../stacks/config";
import { PROJECT, rawSchema } from "../../stacks/configSchema";
import { isRecord } from "../../stacks/configErrors";
import type { HostTarget } from "./hostShell";
import { REPO_ROOT, StackLike } from "./context";

/** A config value, or undefined when the key is not set. */
export async function configValue(
  stack: Pick<StackLike, "getConfig">,
  key: string,
  path = false,
): Promise<string | undefined> {
  try {
    return (await stack.getConfig(key, path)).value;
  } catch {
    return undefined;
  }
}

/** The stack's whole config, validated by the program's own schema (secret keys known as secrets). */
export async function parsedStackConfig(
  stack: { getAllConfig(): Promise<ConfigMap> },
  stackName: string,
): Promise<StackConfig> {
  const all = await stack.getAllConfig();
  const raw = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
  const secretKeys = new Set(
    Object.entries(all)
      .filter(([, v]) => v.secret)
      .map(([k]) => k),
  );
  return parseStackConfig(stackName, raw, secretKeys);
}

/** An object-valued config key (`ems-infra:ssh`, `ems-infra:docker`), or undefined when unset or not an object. */
export async function configObject(
  stack: Pick<StackLike, "getConfig">,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const raw = await configValue(stack, `${PROJECT}:${name}`);
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : undefined;
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

/**
 * The stack's system as its config names it (`ems-infra:system`, default ems_system, and `ems-infra:environment`):
 * for when its outputs cannot be read (a first deploy that failed). Otherwise the outputs say it (stackOutputs.ts).
 */
export async function systemSelectorOf(
  stack: Pick<StackLike, "getConfig" | "name">,
): Promise<{ system: string; environment: string }> {
  const parsed = rawSchema.shape.system.safeParse(await configValue(stack, `${PROJECT}:system`));
  if (!parsed.success) throw new Error(`${PROJECT}:system: ${parsed.error.issues[0].message}`);
  return { system: parsed.data, environment: await environmentOf(stack) };
}

/**
 * Where the stack's host commands run, as the program reaches the host: `ems-infra:ssh` read with the program's
 * own schema (defaults root, 22, ~/.ssh/known_hosts; paths resolved from this project folder), else this machine.
 */
export async function hostTargetOf(
  stack: Pick<StackLike, "getConfig">,
  home = os.homedir(),
  cwd = REPO_ROOT,
): Promise<HostTarget> {
  const raw = await configValue(stack, `${PROJECT}:ssh`);
  if (raw === undefined) return "local";
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${PROJECT}:ssh: must be an object (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
  const parsed = rawSchema.shape.ssh.unwrap().safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${[`${PROJECT}:ssh`, ...issue.path.map(String)].join(".")}: ${issue.message}`);
  }
  const ssh = parsed.data;
  const resolve = (p: string) => resolveHostPath(p, home, cwd);
  return {
    ...ssh,
    knownHostsFile: resolve(ssh.knownHostsFile),
    ...(ssh.identityFile ? { identityFile: resolve(ssh.identityFile) } : {}),
  };
}

/** `ems-infra:traefik` with the program's defaults (image, manage); a bad value throws naming the key. */
export async function traefikConfigOf(
  stack: Pick<StackLike, "getConfig">,
): Promise<{ image: string; manage: boolean }> {
  const parsed = rawSchema.shape.traefik.safeParse(await configObject(stack, "traefik"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${[`${PROJECT}:traefik`, ...issue.path.map(String)].join(".")}: ${issue.message}`);
  }
  return { image: parsed.data.image, manage: parsed.data.manage };
}

/** `ems-infra:docker.host`, or undefined. */
export async function dockerHostConfig(stack: Pick<StackLike, "getConfig">): Promise<string | undefined> {
  const docker = await configObject(stack, "docker");
  return typeof docker?.host === "string" && docker.host !== "" ? docker.host : undefined;
}

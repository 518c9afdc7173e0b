import * as pulumi from "@pulumi/pulumi";
import { PROJECT, StackConfig } from "../../stacks/config";
import { committedConfig, RecordedResource, finder, runProgram, unsecret } from "./mockRuntime";

export { RecordedResource, isSecretEnvelope, unsecret } from "./mockRuntime";
export { T } from "./resourceTypes";
export { committedConfig };

/** The stack's outputs as the mock engine resolved them (the shape of stacks/system.ts's SystemOutputs). */
export interface StackOutputs {
  urls: Record<string, string>;
  images: Record<string, string>;
  containers: Record<string, string>;
  folders: string[];
  backupDir: string;
  [output: string]: unknown;
}

export interface StackRun {
  config: StackConfig;
  resources: RecordedResource[];
  outputs: StackOutputs;
  /** The one resource of this type and name; fails the test when missing. */
  get(type: string, name: string): RecordedResource;
  ofType(type: string): RecordedResource[];
}

/** Secrets a test sets as `pulumi config set --secret` would. */
export const TEST_SECRETS = {
  [`${PROJECT}:ghcrToken`]: "ghp_TESTTOKEN0123456789abcdefghijklmnop",
  // Prod serves the Traefik dashboard behind basic auth, as today: its password is required there.
  [`${PROJECT}:dashboardPassword`]: "dashboard-Password-0123",
} as const;

/**
 * Runs the real program (index.ts's loader and stack functions) against Pulumi's mock monitor and returns
 * every registered resource. Each jest test file gets its own module registry, hence its own Pulumi runtime;
 * run one stack per `runStack` call and at most one call at a time.
 */
export async function runStack(
  stack: string,
  config: Record<string, string>,
  secretKeys: string[] = Object.keys(TEST_SECRETS),
): Promise<StackRun> {
  const run = await runProgram(stack, config, secretKeys);
  return { ...run, outputs: run.outputs as StackOutputs, ...finder(run.resources) };
}

/** Whether a constructor input (possibly nested Outputs) is a Pulumi secret. */
export function isSecretInput(value: unknown): Promise<boolean> {
  return pulumi.isSecret(pulumi.output(value));
}

/** The resolved plain value of a constructor input. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
  return new Promise((resolve) => pulumi.output(value).apply(resolve));
}

/** `NAME=value` entries of a container's envs as a map, whether the envs reached the engine as a secret or not. */
export function envMap(container: RecordedResource): Record<string, string> {
  const envs = unsecret(container.inputs.envs) as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** A container's labels as a map, whether they reached the engine as a secret or not. */
export function labelMap(container: RecordedResource): Record<string, string> {
  return Object.fromEntries(
    (unsecret(container.inputs.labels) as { label: string; value: string }[]).map((l) => [l.label, l.value]),
  );
}

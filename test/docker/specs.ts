/**
 * The container specs the docker tests run, taken from the real program: the dev stack with its committed
 * config under the Pulumi mocks (test/support/stackHarness.ts), inputs resolved and secrets unwrapped.
 */
import {
  committedConfig,
  ContainerInputs,
  plain,
  RecordedResource,
  runStack,
  StackRun,
  T,
  TEST_SECRETS,
} from "../support";

export interface DevSpecs {
  run: StackRun;
  /** Resolved inputs of a resource, secret wrappers removed (shaped as the recorded inputs, per resource type). */
  inputs(type: string, name: string): RecordedResource["inputs"];
  /** Resolved inputs of the docker.Container named `name`, secret wrappers removed. */
  container(name: string): ContainerInputs;
  /** The program's docker.Network whose `name` input is `networkName`. */
  networkNamed(networkName: string): Record<string, unknown>;
  resource(type: string, name: string): RecordedResource;
}

/** Config keys the program only takes as secrets (`pulumi config set --secret`). */
const SECRET_OVERRIDES = ["ems-infra:serviceSecrets"];

/** The dev stack's specs; `overrides` replaces whole config keys (e.g. `ems-infra:services`, JSON). */
export async function devSpecs(overrides: Record<string, string> = {}): Promise<DevSpecs> {
  const secretKeys = [...Object.keys(TEST_SECRETS), ...SECRET_OVERRIDES.filter((k) => k in overrides)];
  const run = await runStack("dev", { ...committedConfig("dev"), ...overrides }, secretKeys);
  return {
    run,
    inputs: (type, name) => plain(run.get(type, name).inputs),
    container: (name) => plain(run.get(T.container, name).inputs),
    networkNamed(networkName) {
      const hits = run.ofType(T.network).filter((n) => n.inputs.name === networkName);
      if (hits.length !== 1) throw new Error(`expected one docker.Network named ${networkName}, found ${hits.length}`);
      return plain(hits[0].inputs);
    },
    resource: (type, name) => run.get(type, name),
  };
}

/** `NAME=value` entries as a map. */
export function envs(inputs: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    (inputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

/** Labels as a map. */
export function labels(inputs: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    ((inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]),
  );
}

/**
 * The one place the program is run against Pulumi's mock monitor: `npm run diagram`, the test harnesses
 * (test/support re-exports this module) and the blast-radius bench all record through `recordUnderMocks`.
 * A run sets the runtime's global state: runs must not overlap in a process (one after the other is fine).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import type { StackConfig } from "../stacks/config";
import { loadStackConfig } from "../stacks/load";
import { deployStack } from "../stacks/select";
import { RESOURCE_TYPES as T } from "../components/resourceTypes";

// Not in the SDK's typings: resolves once every outstanding resource registration has completed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: MonitorWithMocks } };

/** The part of a RegisterResourceRequest (a protobuf message) read here. */
interface RegisterRequest {
  getAdditionalsecretoutputsList?(): string[];
}

/** The part of Pulumi's MockMonitor patched here: its mocks and the registration that calls them. */
interface MonitorWithMocks {
  mocks: pulumi.runtime.Mocks;
  registerResource(this: MonitorWithMocks, req: RegisterRequest, callback: unknown): unknown;
}

export { waitForRPCs };

/** A resource as the program registered it: its inputs (plain, as the engine sees them) and its options. */
export interface RecordedResource {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs resolved to plain values, as the mock monitor received them (secrets as envelopes). */
  inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each resource type has its own input shape; tests read them by name
  /** Inputs as passed to the constructor (may hold Outputs: use `isSecretInput` on them). */
  props: Record<string, unknown>;
  opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
}

/** The signature key of a secret value as the engine receives it: `{ [SIG]: SECRET_SIG, value }`. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A secret value as the engine receives it. */
export interface SecretEnvelope<V = unknown> {
  [SECRET_SIG_KEY]: typeof SECRET_SIG;
  value: V;
}

export function isSecretEnvelope(value: unknown): value is SecretEnvelope {
  return !!value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** What `unsecret` returns for a value of type V: an envelope's content, else V itself. */
export type Unsecreted<V> = V extends SecretEnvelope<infer Inner> ? Inner : V;

/** The value inside a secret envelope (or the value itself). */
export function unsecret<V>(value: V): Unsecreted<V> {
  return (isSecretEnvelope(value) ? value.value : value) as Unsecreted<V>;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * The `result` the mock gives a RandomPassword: as the provider makes it, `length` letters and digits (no
 * special characters are asked for), but deterministic from type, name and inputs.
 */
export function mockRandomPassword(type: string, name: string, inputs: Record<string, unknown>): string {
  const length = Number(inputs.length ?? 16);
  let out = "";
  for (let round = 0; out.length < length; round++) {
    const bytes = crypto
      .createHash("sha256")
      .update(`${type}/${name}/${JSON.stringify(inputs)}/${round}`)
      .digest();
    for (const b of bytes) out += ALPHANUMERIC[b % ALPHANUMERIC.length];
  }
  return out.slice(0, length);
}

/** Mock state the engine would return: deterministic from type, name and inputs (same inputs, same state). */
export function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const hash = crypto
    .createHash("sha256")
    .update(`${args.type}/${args.name}/${JSON.stringify(args.inputs)}`)
    .digest("hex");
  switch (args.type) {
    case T.image: {
      const repo = String(args.inputs.name).replace(/:[^/:]+$/, "");
      return { ...args.inputs, repoDigest: `${repo}@sha256:${hash}`, imageId: `sha256:${hash}` };
    }
    case T.container:
      return { ...args.inputs, name: args.inputs.name ?? `${args.name}-${hash.slice(0, 7)}` };
    case T.randomPassword:
      return { ...args.inputs, result: mockRandomPassword(args.type, args.name, args.inputs) };
    case T.localCommand:
    case T.remoteCommand:
      return { ...args.inputs, stdout: "", stderr: "" };
    default:
      return args.inputs;
  }
}

/**
 * Makes the mock monitor do what the engine does with `additionalSecretOutputs` (a resource's own option,
 * or its provider's, e.g. RandomPassword's `result`): the listed output properties come back as secrets.
 * Pulumi's MockMonitor ignores that option. Returns the function that undoes it.
 */
export function emulateAdditionalSecretOutputs(): () => void {
  const proto = MockMonitor.prototype;
  const original = proto.registerResource;
  proto.registerResource = function (this: MonitorWithMocks, req: RegisterRequest, callback: unknown) {
    const names: string[] = req.getAdditionalsecretoutputsList?.() ?? [];
    if (names.length === 0) return original.call(this, req, callback);
    const mocks = this.mocks;
    const secretState = {
      ...mocks,
      newResource: async (args: pulumi.runtime.MockResourceArgs) => {
        const result = await mocks.newResource(args);
        const state: Record<string, unknown> = { ...result.state };
        for (const name of names) {
          if (state[name] !== undefined && !isSecretEnvelope(state[name]))
            state[name] = { [SECRET_SIG_KEY]: SECRET_SIG, value: state[name] };
        }
        return { ...result, state };
      },
    };
    // Same monitor (its resource map), other mocks for this one registration.
    return original.call(Object.assign(Object.create(this), { mocks: secretState }), req, callback);
  };
  return () => {
    proto.registerResource = original;
  };
}

/**
 * What the engine's invokes return. `getRemoteImage` looks up an image built on this machine: its id is a
 * digest of its name here (a rebuild is simulated by another name); a real engine returns the image's id.
 */
export function mockInvoke(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
  if (args.token === "docker:index/getRemoteImage:getRemoteImage") {
    const id = `sha256:${crypto.createHash("sha256").update(String(args.inputs.name)).digest("hex")}`;
    return { id, name: args.inputs.name, repoDigest: "" };
  }
  throw new Error(`unexpected call to ${args.token} in the program`);
}

export interface MockRunOptions<T> {
  /** Project stack name the program sees (`pulumi.getStack()`). */
  stack: string;
  /** Full config keys to raw values, as Pulumi hands them to a program. */
  config?: Record<string, string>;
  /** Which of the config keys were set with --secret. */
  secretKeys?: string[];
  /** The mocked resource id; by default `<name>-id`. */
  mockId?: (args: pulumi.runtime.MockResourceArgs) => string;
  /** Builds the resources (the real program or a few components). */
  build: () => T;
  /** The stack outputs made of what `build` returned; none by default. */
  outputsOf?: (result: T) => Record<string, unknown>;
}

/** Runs `build` under the mock monitor and records every resource, with inputs as the engine received them. */
export async function recordUnderMocks<T>(
  options: MockRunOptions<T>,
): Promise<{ result: T; resources: RecordedResource[]; outputs: Record<string, unknown> }> {
  const resources: RecordedResource[] = [];
  const inputs = new Map<string, Record<string, unknown>>();
  pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputs.set(`${args.type}::${args.name}`, args.inputs);
        return { id: options.mockId?.(args) || args.id || `${args.name}-id`, state: mockState(args) };
      },
      call: (args) => mockInvoke(args),
    },
    "ems-infra",
    options.stack,
    false,
  );
  let result: T | undefined;
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      resources.push({
        type: args.type,
        name: args.name,
        custom: args.resource instanceof pulumi.CustomResource,
        inputs: {},
        props: args.props,
        opts: args.opts,
      });
      return undefined;
    });
    result = options.build();
    return options.outputsOf ? options.outputsOf(result) : {};
  });
  // Resources whose inputs wait on other outputs register after the stack's outputs resolve.
  await waitForRPCs();
  for (const r of resources) r.inputs = inputs.get(`${r.type}::${r.name}`) ?? {};
  return { result: result as T, resources, outputs: (outputs ?? {}) as Record<string, unknown> };
}

/** Lookups over recorded resources. */
export function finder(resources: RecordedResource[]) {
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  return {
    ofType,
    /** The one resource of this type and name; fails the test when missing. */
    get(type: string, name: string): RecordedResource {
      const hit = ofType(type).filter((r) => r.name === name);
      if (hit.length !== 1)
        throw new Error(
          `expected one ${type} named ${name}, found ${hit.length}: ${ofType(type)
            .map((r) => r.name)
            .join(", ")}`,
        );
      return hit[0];
    },
  };
}

/** The committed stack file's config, as Pulumi passes it to the program (objects as JSON strings). */
export function committedConfig(stack: string, repoRoot = path.join(__dirname, "..")): Record<string, string> {
  const file = YAML.parse(fs.readFileSync(path.join(repoRoot, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return Object.fromEntries(
    Object.entries(file.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/** One run of the real program (index.ts's loader and stack functions) under the mocks. */
export interface ProgramRun {
  config: StackConfig;
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
}

/** Runs the real program for `stack` with `config` (full keys; `secretKeys` set with --secret) and records it. */
export async function runProgram(
  stack: string,
  config: Record<string, string>,
  secretKeys: string[],
): Promise<ProgramRun> {
  let cfg: StackConfig | undefined;
  const { resources, outputs } = await recordUnderMocks({
    stack,
    config,
    secretKeys,
    build: () => deployStack((cfg = loadStackConfig())),
    outputsOf: (result) => result as unknown as Record<string, unknown>,
  });
  return { config: cfg!, resources, outputs };
}

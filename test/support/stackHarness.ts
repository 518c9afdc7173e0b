import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { PROJECT, StackConfig } from "../../stacks/config";

/** A resource as the program registered it: its inputs (plain, as the engine sees them) and its options. */
export interface RecordedResource {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs resolved to plain values, as the mock monitor received them. */
  inputs: Record<string, any>;
  /** Inputs as passed to the constructor (may hold Outputs: use `isSecretInput` on them). */
  props: Record<string, any>;
  opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
  parent?: string;
  provider?: string;
}

export interface StackRun {
  config: StackConfig;
  resources: RecordedResource[];
  outputs: Record<string, any>;
  /** The one resource of this type and name; fails the test when missing. */
  get(type: string, name: string): RecordedResource;
  ofType(type: string): RecordedResource[];
}

export const T = {
  container: "docker:index/container:Container",
  image: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
  network: "docker:index/network:Network",
  dockerProvider: "pulumi:providers:docker",
  localCommand: "command:local:Command",
  remoteCommand: "command:remote:Command",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

// Not in the SDK's typings: resolves once every outstanding resource registration has completed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

const ROOT = path.join(__dirname, "..", "..");

/** The committed stack file's config, as Pulumi passes it to the program (objects as JSON strings). */
export function committedConfig(stack: string): Record<string, string> {
  const file = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(file.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/** Secrets a test sets as `pulumi config set --secret` would. */
export const TEST_SECRETS = {
  [`${PROJECT}:ghcrToken`]: "ghp_TESTTOKEN0123456789abcdefghijklmnop",
} as const;

function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
  const hash = crypto.createHash("sha256").update(`${args.type}/${args.name}/${JSON.stringify(args.inputs)}`).digest("hex");
  switch (args.type) {
    case T.image: {
      const repo = String(args.inputs.name).replace(/:[^/:]+$/, "");
      return { ...args.inputs, repoDigest: `${repo}@sha256:${hash}`, imageId: `sha256:${hash}` };
    }
    case T.container:
      return { ...args.inputs, name: args.inputs.name ?? `${args.name}-${hash.slice(0, 7)}` };
    case T.randomPassword:
      return { ...args.inputs, result: `generated-${args.name}-${hash.slice(0, 16)}` };
    case T.localCommand:
    case T.remoteCommand:
      return { ...args.inputs, stdout: "", stderr: "" };
    default:
      return args.inputs;
  }
}

/**
 * Runs the real program (index.ts's loader and stack functions) against Pulumi's mock monitor and returns
 * every registered resource. Each jest test file gets its own module registry, hence its own Pulumi runtime;
 * run one stack per `runStack` call and at most one call at a time.
 */
export async function runStack(stack: string, config: Record<string, string>, secretKeys: string[] = Object.keys(TEST_SECRETS)): Promise<StackRun> {
  const resources: RecordedResource[] = [];
  const inputsByUrnName = new Map<string, Record<string, any>>();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputsByUrnName.set(`${args.type}::${args.name}`, args.inputs);
        return { id: args.id || `${args.name}-id`, state: mockState(args) };
      },
      call: (args) => {
        throw new Error(`unexpected call to ${args.token} in the program`);
      },
    },
    PROJECT,
    stack,
    false,
  );

  // Loaded after setMocks so that the SDK the program imports is the mocked one.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { loadStackConfig } = require("../../stacks/load") as typeof import("../../stacks/load");
  const { devStack } = require("../../stacks/dev") as typeof import("../../stacks/dev");
  const { prodStack } = require("../../stacks/prod") as typeof import("../../stacks/prod");
  /* eslint-enable @typescript-eslint/no-require-imports */

  let cfg: StackConfig | undefined;
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
    cfg = loadStackConfig();
    const result = cfg.environment === "production" ? prodStack(cfg) : devStack(cfg);
    return result as unknown as Record<string, unknown>;
  });
  // Resources whose inputs wait on other outputs register after the stack's outputs resolve.
  await waitForRPCs();
  for (const r of resources) r.inputs = inputsByUrnName.get(`${r.type}::${r.name}`) ?? {};

  const find = (type: string) => resources.filter((r) => r.type === type);
  return {
    config: cfg!,
    resources,
    outputs: (outputs ?? {}) as Record<string, any>,
    ofType: find,
    get(type, name) {
      const hit = find(type).filter((r) => r.name === name);
      if (hit.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${hit.length}: ${find(type).map((r) => r.name).join(", ")}`);
      return hit[0];
    },
  };
}

/** Whether a constructor input (possibly nested Outputs) is a Pulumi secret. */
export function isSecretInput(value: unknown): Promise<boolean> {
  return pulumi.isSecret(pulumi.output(value));
}

/** The resolved plain value of a constructor input. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
  return new Promise((resolve) => pulumi.output(value).apply(resolve));
}

/** The signature key of a secret value as the engine receives it: `{ [SIG]: SECRET_SIG, value }`. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return !!value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The value inside a secret envelope (or the value itself). */
export function unsecret(value: unknown): any {
  return isSecretEnvelope(value) ? value.value : value;
}

/** `NAME=value` entries of a container's envs as a map, whether the envs reached the engine as a secret or not. */
export function envMap(container: RecordedResource): Record<string, string> {
  const envs = unsecret(container.inputs.envs) as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** A container's labels as a map, whether they reached the engine as a secret or not. */
export function labelMap(container: RecordedResource): Record<string, string> {
  return Object.fromEntries((unsecret(container.inputs.labels) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
}

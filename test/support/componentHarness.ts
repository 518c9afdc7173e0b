/**
 * Runs a few components alone under Pulumi's mock monitor (no stack config, no index.ts) and returns what
 * they registered, the same shape as stackHarness's `runStack`. Calls must not overlap; one after the other
 * in the same test file is fine (each gets a fresh mock monitor and root stack).
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { RecordedResource, SECRET_SIG, SECRET_SIG_KEY } from "./stackHarness";

// Not in the SDK's typings: resolves once every outstanding resource registration has completed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

export interface ComponentRun<T> {
  /** What `build` returned (the components, to read their outputs). */
  result: T;
  resources: RecordedResource[];
  get(type: string, name: string): RecordedResource;
  ofType(type: string): RecordedResource[];
}

/** Mock state the engine would return: deterministic from type, name and inputs (same inputs, same state). */
export function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
  const hash = crypto.createHash("sha256").update(`${args.type}/${args.name}/${JSON.stringify(args.inputs)}`).digest("hex");
  switch (args.type) {
    case "docker:index/remoteImage:RemoteImage": {
      const repo = String(args.inputs.name).replace(/:[^/:]+$/, "");
      return { ...args.inputs, repoDigest: `${repo}@sha256:${hash}`, imageId: `sha256:${hash}` };
    }
    case "docker:index/container:Container":
      return { ...args.inputs, name: args.inputs.name ?? `${args.name}-${hash.slice(0, 7)}` };
    case "random:index/randomPassword:RandomPassword":
      return { ...args.inputs, result: `generated-${args.name}-${hash.slice(0, 16)}` };
    case "command:local:Command":
    case "command:remote:Command":
      return { ...args.inputs, stdout: "", stderr: "" };
    default:
      return args.inputs;
  }
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: { registerResource: (this: any, req: any, callback: unknown) => unknown } } };


/**
 * Makes the mock monitor do what the engine does with `additionalSecretOutputs` (a resource's own option,
 * or its provider's, e.g. RandomPassword's `result`): the listed output properties come back as secrets.
 * Pulumi's MockMonitor ignores that option. Returns the function that undoes it.
 */
export function emulateAdditionalSecretOutputs(): () => void {
  const proto = MockMonitor.prototype;
  const original = proto.registerResource;
  proto.registerResource = function (this: any, req: any, callback: unknown) {
    const names: string[] = req.getAdditionalsecretoutputsList?.() ?? [];
    if (names.length === 0) return original.call(this, req, callback);
    const mocks = this.mocks;
    const secretState = {
      ...mocks,
      newResource: async (args: pulumi.runtime.MockResourceArgs) => {
        const result = await mocks.newResource(args);
        const state = { ...result.state };
        for (const name of names) {
          if (state[name] !== undefined && state[name]?.[SECRET_SIG_KEY] !== SECRET_SIG) state[name] = { [SECRET_SIG_KEY]: SECRET_SIG, value: state[name] };
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

export async function runComponents<T>(build: () => T, stack = "test"): Promise<ComponentRun<T>> {
  const undo = emulateAdditionalSecretOutputs();
  try {
    return await runComponentsAsIs(build, stack);
  } finally {
    undo();
  }
}

async function runComponentsAsIs<T>(build: () => T, stack: string): Promise<ComponentRun<T>> {
  const resources: RecordedResource[] = [];
  const inputs = new Map<string, Record<string, any>>();
  pulumi.runtime.setAllConfig({}, []);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputs.set(`${args.type}::${args.name}`, args.inputs);
        return { id: `${args.name}-id`, state: mockState(args) };
      },
      call: (args) => {
        throw new Error(`unexpected call to ${args.token}`);
      },
    },
    "ems-infra",
    stack,
    false,
  );
  let result: T | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
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
    result = build();
    return {};
  });
  await waitForRPCs();
  for (const r of resources) r.inputs = inputs.get(`${r.type}::${r.name}`) ?? {};
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  return {
    result: result as T,
    resources,
    ofType,
    get(type, name) {
      const hit = ofType(type).filter((r) => r.name === name);
      if (hit.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${hit.length}: ${ofType(type).map((r) => r.name).join(", ")}`);
      return hit[0];
    },
  };
}

/** The URN of a resource object (e.g. an `opts.parent`), resolved. */
export function urnOf(resource: pulumi.Resource): Promise<string> {
  return new Promise((resolve) => resource.urn.apply(resolve));
}

/**
 * Runs the real program (stacks/load + dev/prod) under Pulumi's mocks and captures every resource's type,
 * name, inputs and diff options. Unlike the test harness, a resource's mocked id changes exactly when `pulumi up`
 * would replace it (a hash of the inputs the provider rules or its `replaceOnChanges` make replacing), so a
 * replacement ripples into the resources that use the id (e.g. the databases command's triggers), as it does on
 * a real engine. Everything else is deterministic: the same config gives the same captured inputs, run after run.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { recordUnderMocks } from "./mockProgram";
import { loadStackConfig } from "../stacks/load";
import { deployStack } from "../stacks/select";
import { Captured, stableJson } from "./diff";
import { DiffOptions, effectOf, ignores, replacesOn } from "./providerRules";

function mockId(args: pulumi.runtime.MockResourceArgs, opts: DiffOptions | undefined): string {
  const replacing = Object.keys(args.inputs)
    .filter(
      (k) =>
        !ignores(opts?.ignoreChanges, k) &&
        (effectOf(args.type, k) === "replace" || replacesOn(opts?.replaceOnChanges, k)),
    )
    .sort();
  const basis = Object.fromEntries(replacing.map((k) => [k, args.inputs[k]]));
  return `${args.name}-${crypto.createHash("sha256").update(stableJson(basis)).digest("hex").slice(0, 12)}`;
}

/** One mocked run; runs must not overlap in a process. */
export async function captureStack(
  stack: string,
  config: Record<string, string>,
  secretKeys: string[],
): Promise<Captured[]> {
  const diffOpts = new Map<string, DiffOptions>();
  const key = (type: string, name: string) => `${type}::${name}`;
  const { resources } = await recordUnderMocks({
    stack,
    config,
    secretKeys,
    mockId: (args) => mockId(args, diffOpts.get(key(args.type, args.name))),
    build: () => {
      // Runs before the program's resources register, so their options are known when the mock ids are made.
      pulumi.runtime.registerStackTransformation((args) => {
        diffOpts.set(key(args.type, args.name), {
          replaceOnChanges: args.opts.replaceOnChanges,
          ignoreChanges: args.opts.ignoreChanges,
        });
        return undefined;
      });
      return deployStack(loadStackConfig());
    },
  });
  return resources.map(({ type, name, custom, inputs, opts }) => ({
    type,
    name,
    custom,
    inputs,
    protect: opts.protect === true,
    diff: { replaceOnChanges: opts.replaceOnChanges, ignoreChanges: opts.ignoreChanges },
    deleteBeforeReplace: (opts as { deleteBeforeReplace?: boolean }).deleteBeforeReplace,
  }));
}

/**
 * Runs the real program (stacks/load + dev/prod) under Pulumi's mocks and captures every resource's type,
 * name and inputs. Unlike the test harness, a resource's mocked id changes exactly when the provider would
 * replace it (a hash of its replacing inputs), so a replacement ripples into the resources that use the id
 * (e.g. the databases command's triggers), as it does on a real engine. Everything else is deterministic:
 * the same config gives the same captured inputs, run after run.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { recordUnderMocks } from "../test/support/mockRuntime";
import { loadStackConfig } from "../stacks/load";
import { deployStack } from "../stacks/select";
import { Captured, replacingInputs, stableJson } from "./diff";

function mockId(args: pulumi.runtime.MockResourceArgs): string {
  const replacing = replacingInputs(args.type);
  const basis = replacing === "all" ? args.inputs : Object.fromEntries(replacing.map((k) => [k, args.inputs[k]]));
  return `${args.name}-${crypto.createHash("sha256").update(stableJson(basis)).digest("hex").slice(0, 12)}`;
}

/** One mocked run; runs must not overlap in a process. */
export async function captureStack(stack: string, config: Record<string, string>, secretKeys: string[]): Promise<Captured[]> {
  const { resources } = await recordUnderMocks({
    stack,
    config,
    secretKeys,
    mockId,
    build: () => deployStack(loadStackConfig()),
  });
  return resources.map(({ type, name, custom, inputs, opts }) => ({ type, name, custom, inputs, protect: opts.protect === true }));
}

/**
 * Runs the real program (stacks/load + dev/prod) under Pulumi's mocks and captures every resource's type,
 * name and inputs. Unlike the test harness, a resource's mocked id changes exactly when the provider would
 * replace it (a hash of its replacing inputs), so a replacement ripples into the resources that use the id
 * (e.g. the databases command's triggers), as it does on a real engine. Everything else is deterministic:
 * the same config gives the same captured inputs, run after run.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { mockState } from "../test/support/componentHarness";
import { Captured, replacingInputs, stableJson } from "./diff";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

function mockId(args: pulumi.runtime.MockResourceArgs): string {
  const replacing = replacingInputs(args.type);
  const basis = replacing === "all" ? args.inputs : Object.fromEntries(replacing.map((k) => [k, args.inputs[k]]));
  return `${args.name}-${crypto.createHash("sha256").update(stableJson(basis)).digest("hex").slice(0, 12)}`;
}

/** One mocked run; runs must not overlap in a process. */
export async function captureStack(stack: string, config: Record<string, string>, secretKeys: string[]): Promise<Captured[]> {
  const recorded: Captured[] = [];
  const inputs = new Map<string, Record<string, unknown>>();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputs.set(`${args.type}::${args.name}`, args.inputs);
        return { id: mockId(args), state: mockState(args) };
      },
      call: (args) => {
        throw new Error(`unexpected call to ${args.token}`);
      },
    },
    "ems-infra",
    stack,
    false,
  );
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { loadStackConfig } = require("../stacks/load") as typeof import("../stacks/load");
  const { devStack } = require("../stacks/dev") as typeof import("../stacks/dev");
  const { prodStack } = require("../stacks/prod") as typeof import("../stacks/prod");
  /* eslint-enable @typescript-eslint/no-require-imports */
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      recorded.push({ type: args.type, name: args.name, custom: args.resource instanceof pulumi.CustomResource, inputs: {} });
      return undefined;
    });
    const cfg = loadStackConfig();
    return (cfg.environment === "production" ? prodStack(cfg) : devStack(cfg)) as unknown as Record<string, unknown>;
  });
  await waitForRPCs();
  for (const r of recorded) r.inputs = inputs.get(`${r.type}::${r.name}`) ?? {};
  return recorded;
}

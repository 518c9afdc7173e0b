/**
 * The program's own guard against a raw `pulumi up` that changes a deployed stack's platform (index.ts →
 * stacks/platformGuard.ts): under the Pulumi mocks, the engine's builtin `pulumi:pulumi:readStackOutputs` the program
 * invokes for its own stack answers with the outputs the test gives it (what the engine reads from the backend's last
 * checkpoint) and the shape the engine gives them in.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "../../stacks/load";
import {
  deployedPlatform,
  guardPlatformChange,
  platformChangeRefusal,
  READ_STACK_OUTPUTS,
} from "../../stacks/platformGuard";
import { deployStack } from "../../stacks/select";
import { committedConfig, mockInvoke, mockState, swarmProdConfig, TEST_SECRETS, waitForRPCs } from "../support";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeState = require("@pulumi/pulumi/runtime/state") as { getStackResource(): unknown };

interface GuardedRun {
  error?: string;
  types: string[];
  /** The arguments of the program's read of its own outputs. */
  read?: Record<string, unknown>;
}

/** Runs index.ts's composition (guard, then the stack) for prod with `config`, the last deploy's outputs given. */
async function runGuarded(config: Record<string, string>, lastOutputs: Record<string, unknown>): Promise<GuardedRun> {
  const run: GuardedRun = { types: [] };
  pulumi.runtime.setAllConfig(config, Object.keys(TEST_SECRETS));
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        run.types.push(args.type);
        return { id: `${args.name}-id`, state: mockState(args) };
      },
      call: (args) => {
        if (args.token !== READ_STACK_OUTPUTS) return mockInvoke(args);
        run.read = args.inputs;
        // The builtin's answer (pulumi builtins.go readStackReference): the name, the outputs, the secret ones' names.
        return { name: args.inputs.name, outputs: lastOutputs, secretOutputNames: [] };
      },
    },
    "ems-infra",
    "prod",
    false,
    // The diy backend's organization (the CLI always sets one; the mocks only when given).
    "organization",
  );
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      const cfg = loadStackConfig();
      await guardPlatformChange(cfg);
      return deployStack(cfg) as unknown as Record<string, unknown>;
    });
    await waitForRPCs();
  } catch (error) {
    run.error = error instanceof Error ? error.message : String(error);
  } finally {
    // A failed program leaves the root stack's isKnown/isSecret rejected and unobserved (helpers.ts runFailingStack).
    const root = runtimeState.getStackResource() as {
      outputs?: { isKnown?: Promise<boolean>; isSecret?: Promise<boolean> };
    };
    root?.outputs?.isKnown?.catch(() => undefined);
    root?.outputs?.isSecret?.catch(() => undefined);
    await waitForRPCs().catch(() => undefined);
  }
  return run;
}

const dockerProd = () => ({ ...committedConfig("prod"), ...TEST_SECRETS });
const swarmProd = (extra: Record<string, string> = {}) => ({ ...swarmProdConfig(), ...TEST_SECRETS, ...extra });
/** What a one-engine prod stack exports (no `platform`: absent means containers on one engine). */
const DOCKER_OUTPUTS = { system: "ems_system", environment: "production", postgresContainer: "ems_system-postgres" };

describe("a raw pulumi up that flips ems-infra:platform on a deployed stack is refused before anything is registered", () => {
  test("docker → swarm: refused naming ems-infra:platform and the command that moves it; only its own outputs are read", async () => {
    const run = await runGuarded(swarmProd(), DOCKER_OUTPUTS);
    expect(run.error).toContain(
      'ems-infra:platform is "swarm" but stack prod last deployed the "docker" platform. A plain pulumi up would start',
    );
    expect(run.error).toContain("npm run switch-platform -- --stack prod");
    // Nothing registered but the root stack; the outputs read are this stack's own.
    expect(run.types).toEqual(["pulumi:pulumi:Stack"]);
    expect(run.read).toEqual({ name: "organization/ems-infra/prod" });
  });

  test("swarm → docker: refused the same way", async () => {
    const run = await runGuarded(dockerProd(), { ...DOCKER_OUTPUTS, platform: "swarm" });
    expect(run.error).toContain('ems-infra:platform is "docker" but stack prod last deployed the "swarm" platform');
    expect(run.types).toEqual(["pulumi:pulumi:Stack"]);
  });

  test("with ems-infra:platformSwitch: swarm (set by npm run switch-platform) the swarm stack is registered", async () => {
    const run = await runGuarded(swarmProd({ "ems-infra:platformSwitch": "swarm" }), DOCKER_OUTPUTS);
    expect(run.error).toBeUndefined();
    expect(run.types).toContain("docker:index/service:Service");
    expect(run.types).not.toContain("docker:index/container:Container");
  });

  test("an unchanged platform and a stack never deployed go on as before", async () => {
    const same = await runGuarded(dockerProd(), DOCKER_OUTPUTS);
    expect(same.error).toBeUndefined();
    expect(same.types).toContain("docker:index/container:Container");
    expect(same.types).not.toContain("pulumi:pulumi:StackReference");
    const fresh = await runGuarded(swarmProd(), {});
    expect(fresh.error).toBeUndefined();
    expect(fresh.types).toContain("docker:index/service:Service");
  });
});

describe("the rule", () => {
  test("absent platform with a system output is the one-engine platform; no outputs is a stack never deployed", () => {
    expect(deployedPlatform({ system: "ems_system" })).toBe("docker");
    expect(deployedPlatform({ system: "ems_system", platform: "swarm" })).toBe("swarm");
    expect(deployedPlatform({})).toBeUndefined();
  });

  test("platformSwitch only lets the up through towards the platform it names", () => {
    expect(platformChangeRefusal("prod", "docker", { platform: "swarm", platformSwitch: "docker" })).toMatch(
      /^ems-infra:platform is "swarm"/,
    );
    expect(platformChangeRefusal("prod", "docker", { platform: "swarm", platformSwitch: "swarm" })).toBeUndefined();
  });
});

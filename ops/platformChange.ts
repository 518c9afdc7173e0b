/**
 * `deploy`, `rollback` and `rotate` (the release flow) refuse a platform change before anything changes: the stack's
 * `platform` output (what it last deployed) against `ems-infra:platform` in its config. The program refuses the same
 * for a raw `pulumi up` (stacks/platformGuard.ts); `npm run switch-platform` is the way across.
 */
import { PROJECT } from "../stacks/configSchema";
import { deployedPlatform, platformChangeRefusal } from "../stacks/platformGuard";
import type { StackLike } from "./runner/context";
import { configValue } from "./runner/stackConfig";

/** The platform the config asks for (`docker` when unset) and the switch acknowledgement, if any. */
async function configuredPlatform(
  stack: Pick<StackLike, "getConfig">,
): Promise<{ platform: "docker" | "swarm"; platformSwitch?: "docker" | "swarm" }> {
  const platform = (await configValue(stack, `${PROJECT}:platform`)) === "swarm" ? "swarm" : "docker";
  const ack = await configValue(stack, `${PROJECT}:platformSwitch`);
  return { platform, ...(ack === "docker" || ack === "swarm" ? { platformSwitch: ack } : {}) };
}

/** What the stack last deployed, from its outputs; undefined for a stack never deployed. */
async function lastDeployedPlatform(stack: Pick<StackLike, "outputs">): Promise<"docker" | "swarm" | undefined> {
  const outputs = await stack.outputs();
  return deployedPlatform({ platform: outputs.platform?.value, system: outputs.system?.value });
}

/**
 * Throws the refusal when the config moves the stack to another platform than the one it runs. The switch's own
 * acknowledgement does not let a release through: while it is set a switch is under way (its journal on the host),
 * and only `switch-platform` resumes or undoes it.
 */
export async function checkPlatformUnchanged(stack: Pick<StackLike, "name" | "getConfig" | "outputs">): Promise<void> {
  const last = await lastDeployedPlatform(stack);
  const { platform, platformSwitch } = await configuredPlatform(stack);
  const refusal = platformChangeRefusal(stack.name, last, { platform });
  if (!refusal) return;
  if (platformSwitch)
    throw new Error(
      `pre-flight: a platform switch of stack ${stack.name} is under way (${PROJECT}:platformSwitch is set): ` +
        `resume it with npm run switch-platform -- --stack ${stack.name}, or go back with npm run switch-platform -- --stack ${stack.name} --undo`,
    );
  throw new Error(`pre-flight: ${refusal}`);
}

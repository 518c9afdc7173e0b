/** The stack outputs ops read, parsed against the program's contract (stacks/opsContract.ts). */
import { OpsOutputs, parseOpsOutputs } from "../stacks/opsContract";
import type { StackLike } from "./runner/context";

/** Reads and checks the stack's outputs; a never-deployed stack or one deployed by an older version throws, saying so. */
export async function readOpsOutputs(stack: Pick<StackLike, "name" | "outputs">): Promise<OpsOutputs> {
  const outputs = await stack.outputs();
  return parseOpsOutputs(stack.name, Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])));
}

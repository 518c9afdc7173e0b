/**
 * `tsx bench/capture.ts <stack> <change>`: one mocked run of the program, printed as JSON (type, name, custom,
 * inputs of every resource). One process per run: Pulumi's runtime state is global to a process.
 */
import { SECRET_KEYS, STACKS, Stack, configFor } from "../testkit/changes";
import { captureStack } from "../testkit/mockStack";

async function main(): Promise<void> {
  const [stack, change = "baseline"] = process.argv.slice(2);
  if (!STACKS.includes(stack as Stack)) throw new Error(`usage: capture.ts <${STACKS.join("|")}> [change]`);
  const resources = await captureStack(stack, configFor(stack as Stack, change), SECRET_KEYS);
  process.stdout.write(`${JSON.stringify({ stack, change, resources })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

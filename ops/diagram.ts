/**
 * `npm run diagram [-- --check]`: runs the program for each committed stack under Pulumi's mocks (the same
 * runtime the tests use) and writes docs/diagram.md; `--check` only compares and exits 1 when it is stale.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandSpec, parseArgs } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { diagramDocument, stackDiagram } from "./mermaid";
import { REPO_ROOT } from "./workspace";

export const diagramSpec = {
  command: "npm run diagram --",
  summary: "Writes docs/diagram.md: a Mermaid picture of each stack, generated from the program under mocks (no Pulumi CLI needed).",
  flags: { check: { type: "boolean", description: "Do not write: exit 1 when docs/diagram.md does not match the program" } },
  examples: ["npm run diagram", "npm run diagram -- --check"],
} as const satisfies CommandSpec;

export const DIAGRAM_FILE = path.join(REPO_ROOT, "docs", "diagram.md");
export const DIAGRAM_STACKS = ["dev", "prod"] as const;

/** The document as the program is now. Stacks run one after the other (the mock runtime is global). */
export async function generateDiagram(): Promise<string> {
  // The stack harness is the one place the program runs under mocks, with the committed config and test secrets.
  const { committedConfig, runStack, TEST_SECRETS } = await import("../test/support/stackHarness");
  const stacks: Array<{ stack: string; diagram: string }> = [];
  for (const stack of DIAGRAM_STACKS) {
    // Secret values never change the picture; the dashboard needs one to be drawn at all.
    const secrets = { ...TEST_SECRETS, "ems-infra:dashboardPassword": "diagram-placeholder" };
    const run = await runStack(stack, { ...committedConfig(stack), ...secrets }, Object.keys(secrets));
    stacks.push({ stack, diagram: stackDiagram(run.resources, os.homedir()) });
  }
  return diagramDocument(stacks);
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const args = handleArgs(diagramSpec, io, () => {
    const parsed = parseArgs(diagramSpec, argv);
    return parsed.help ? parsed : { help: false as const, options: parsed.values };
  });
  if (args.kind === "exit") return args.code;
  try {
    const fresh = await generateDiagram();
    const committed = fs.existsSync(DIAGRAM_FILE) ? fs.readFileSync(DIAGRAM_FILE, "utf8") : undefined;
    if (args.options.check) {
      if (committed === fresh) {
        io.out("docs/diagram.md matches the program\n");
        return 0;
      }
      io.err("docs/diagram.md no longer matches the program: run `npm run diagram` and commit the result\n");
      return 1;
    }
    fs.mkdirSync(path.dirname(DIAGRAM_FILE), { recursive: true });
    fs.writeFileSync(DIAGRAM_FILE, fresh);
    io.out(`wrote docs/diagram.md${committed === fresh ? " (unchanged)" : ""}\n`);
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

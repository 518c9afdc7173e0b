/**
 * `npm run diagram [-- --check]`: runs the program for each committed stack under Pulumi's mocks (the same
 * runtime the tests use) and writes docs/diagram.md and the README's diagram block; `--check` only compares and
 * exits 1 when either is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { DIAGRAM_FILE, generateStackDiagrams, README_FILE, readmeWithDiagram } from "./diagramFiles";
import { diagramDocument } from "./mermaid";
import { defineCommand, EXIT, runMain } from "../../ops/runner/defineCommand";

export const diagram = defineCommand({
  name: "diagram",
  summary:
    "Writes docs/diagram.md and the README's diagram: a Mermaid picture of each stack, generated from the program under mocks (no Pulumi CLI needed).",
  stack: { mode: "none" },
  confirms: false,
  flags: {
    check: {
      type: "boolean",
      description: "Do not write: exit 1 when docs/diagram.md or the README's diagram does not match the program",
    },
  },
  examples: ["npm run diagram", "npm run diagram -- --check"],
  async run(options, { io }) {
    const stacks = await generateStackDiagrams();
    const fresh = diagramDocument(stacks);
    const committed = fs.existsSync(DIAGRAM_FILE) ? fs.readFileSync(DIAGRAM_FILE, "utf8") : undefined;
    const readme = fs.readFileSync(README_FILE, "utf8");
    const freshReadme = readmeWithDiagram(readme, stacks);
    if (options.check) {
      if (committed === fresh && readme === freshReadme) {
        io.out("docs/diagram.md and the README's diagram match the program\n");
        return EXIT.ok;
      }
      const stale = [committed === fresh ? "" : "docs/diagram.md", readme === freshReadme ? "" : "README.md"].filter(
        Boolean,
      );
      io.err(`${stale.join(" and ")} no longer match the program: run \`npm run diagram\` and commit the result\n`);
      return EXIT.failed;
    }
    fs.mkdirSync(path.dirname(DIAGRAM_FILE), { recursive: true });
    fs.writeFileSync(DIAGRAM_FILE, fresh);
    fs.writeFileSync(README_FILE, freshReadme);
    io.out(
      `wrote docs/diagram.md${committed === fresh ? " (unchanged)" : ""} and the README's diagram${readme === freshReadme ? " (unchanged)" : ""}\n`,
    );
    return EXIT.ok;
  },
});

runMain(module, diagram);

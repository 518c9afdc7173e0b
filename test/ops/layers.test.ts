/**
 * The layers as the module graph shows them (madge, the tool `npm run check:cycles` runs): the everyday commands and
 * the release flow never load the cut-over's code, and production never loads test tooling.
 */
import * as path from "path";

/** madge's API (it ships no types): the module graph from an entry file, relative paths to their imports. */
type Madge = (entry: string, config: object) => Promise<{ obj(): Record<string, string[]> }>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const madge = require("madge") as Madge;

const ROOT = path.resolve(__dirname, "..", "..");

async function dependenciesOf(file: string): Promise<string[]> {
  const graph = await madge(path.join(ROOT, file), {
    baseDir: ROOT,
    fileExtensions: ["ts"],
    tsConfig: path.join(ROOT, "tsconfig.json"),
  });
  return Object.keys(graph.obj());
}

describe("what each command loads", () => {
  it.each(["deploy", "rollback", "rotate", "status", "logs", "exec", "backup", "restore", "drift"])(
    "%s loads neither the cut-over (ops/migrate) nor any test tooling",
    async (name) => {
      const files = await dependenciesOf(`ops/commands/${name}.ts`);
      expect(files).toContain(`ops/commands/${name}.ts`);
      expect(files.filter((f) => /^(ops\/migrate\/|test\/|bench\/|testkit\/)/.test(f))).toEqual([]);
    },
  );
});

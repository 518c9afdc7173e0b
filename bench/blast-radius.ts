/**
 * `npm run bench` (tsx bench/blast-radius.ts): for each typical change and each stack, how many resources
 * `pulumi up` would create, replace, update and delete — measured on mocked runs of the real program (one
 * process per run, see capture.ts) diffed against the committed config, each change classified by the pinned
 * providers' vendored rules (testkit/provider-rules/, see diff.ts and providerRules.ts).
 */
import { execFile } from "child_process";
import * as os from "os";
import * as path from "path";
import { RESOURCE_TYPES } from "../components/resourceTypes";
import { CHANGES, STACKS, Stack } from "../testkit/changes";
import { Captured, Change, countByAction, diffRuns } from "../testkit/diff";

const TSX = path.join(__dirname, "..", "node_modules", ".bin", "tsx");

function capture(stack: Stack, change: string): Promise<Captured[]> {
  return new Promise((resolve, reject) => {
    execFile(
      TSX,
      [path.join(__dirname, "capture.ts"), stack, change],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`capture ${stack} ${change} failed: ${stderr || err.message}`));
        else resolve((JSON.parse(stdout) as { resources: Captured[] }).resources);
      },
    );
  });
}

/** Runs the jobs, at most `limit` at a time, keeping their order. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const last = rows[0].length - 1;
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === last ? cell : i >= 2 && i <= 6 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ");
  return [
    line(rows[0]),
    widths.map((w, i) => "-".repeat(i === last ? rows[0][i].length : w)).join("  "),
    ...rows.slice(1).map(line),
  ].join("\n");
}

const CONTAINER = RESOURCE_TYPES.container;

function plainTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

const short = (c: Change) =>
  `${c.type.startsWith("ems:infra:") ? `${c.type.slice("ems:infra:".length)}:` : ""}${c.name}` +
  `${c.action === "replace" || c.action === "update" ? `(${c.changed.join(",")}${c.stateOnly ? "; state only" : ""})` : ""}`;

async function main(): Promise<void> {
  const started = Date.now();
  const runs = STACKS.flatMap((stack) =>
    ["baseline", ...CHANGES.map((c) => c.name)].map((change) => ({ stack, change })),
  );
  const captured = await pool(
    runs.map((r) => () => capture(r.stack, r.change)),
    Math.max(1, os.cpus().length),
  );
  const byRun = new Map(runs.map((r, i) => [`${r.stack}/${r.change}`, captured[i]]));

  const rows = [["change", "stack", "create", "replace", "update", "delete", "total", "resources touched"]];
  const containerNames = [
    ...new Set(
      STACKS.flatMap((stack) =>
        byRun
          .get(`${stack}/baseline`)!
          .filter((r) => r.type === CONTAINER)
          .map((r) => r.name),
      ),
    ),
  ];
  const perContainer = [["change", "stack", ...containerNames]];
  for (const change of CHANGES) {
    for (const stack of STACKS) {
      const base = byRun.get(`${stack}/baseline`)!;
      const noise = diffRuns(base, base);
      if (noise.length > 0)
        throw new Error(`baseline of ${stack} is not deterministic: ${noise.map(short).join(", ")}`);
      const changes = diffRuns(base, byRun.get(`${stack}/${change.name}`)!);
      const n = countByAction(changes);
      const touched = (["create", "replace", "update", "delete"] as const)
        .map((a) => changes.filter((c) => c.action === a))
        .filter((list) => list.length > 0)
        .map((list) => `${list[0].action}: ${list.map(short).join(" ")}`)
        .join("; ");
      rows.push([
        change.name,
        stack,
        String(n.create),
        String(n.replace),
        String(n.update),
        String(n.delete),
        String(changes.length),
        touched || "-",
      ]);
      const present = new Set(base.filter((r) => r.type === CONTAINER).map((r) => r.name));
      perContainer.push([
        change.name,
        stack,
        ...containerNames.map((name) => {
          if (!present.has(name)) return "-";
          const c = changes.find((x) => x.type === CONTAINER && x.name === name);
          return c ? (c.stateOnly ? "update (state only)" : c.action) : "nothing";
        }),
      ]);
    }
  }
  console.log("Blast radius of typical changes (mocked `pulumi up` against the committed stack configs)\n");
  for (const c of CHANGES) console.log(`  ${c.name.padEnd(18)} ${c.description}`);
  console.log(`\n${table(rows)}\n`);
  console.log(`What each container goes through ("-": not in that stack):\n\n${plainTable(perContainer)}\n`);
  console.log(
    "Rules (testkit/provider-rules/*.json, vendored from the pinned providers' schemas and sources): an input the provider\n" +
      "marks ForceNew replaces; an input its Update applies (container memory, restart; command create/stdin) updates in\n" +
      "place; an input it only stores (container healthcheck, wait, destroyGraceSeconds) is a state-only update that never\n" +
      'reaches the running container. A resource\'s replaceOnChanges ("*" = every input) turns a change into a replace and\n' +
      "its ignoreChanges drops it; a resource absent from a row is untouched (nothing). Components count when created or\n" +
      "deleted. Not modelled: read-back (memorySwap, daemon log-opts: see test/docker/readback.test.ts), failing commands\n" +
      "and stdout-derived inputs.\n" +
      `${runs.length} mocked runs in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

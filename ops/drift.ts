/**
 * `npm run drift -- --stack prod`
 *
 * Refreshes the stack's state from the live host and previews the program against it
 * (`pulumi preview --refresh --expect-no-changes --diff`), then runs the read-only host check of what a refresh
 * never re-reads (ops/hostDrift.ts: folders and modes, the backup cron entry, database roles and owners).
 * Exit 0 when nothing differs; exit 1 with each resource and host difference by name otherwise.
 */
import { CommandSpec, parseArgs, stackFlag } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { HostDrift, hostCheckCommand, hostExpectations, parseHostCheck } from "./hostDrift";
import { hostTargetOf } from "./stackConfig";
import { defaultDeps, OpsDeps, policyPacks, StackLike } from "./workspace";

export const driftSpec = {
  command: "npm run drift --",
  summary:
    "Checks that the live host still matches the program: refreshes the state from the host, then previews; then checks " +
    "the host's folders, backup cron entry and database roles, which a refresh never re-reads. " +
    "Exits 0 when nothing differs, 1 when something does (or the check could not run).",
  flags: {
    stack: stackFlag("Stack to check, e.g. prod"),
  },
  notes: [
    "Nothing is changed: neither the host nor the stack's state (the refresh is part of the preview; the host check only reads).",
  ],
  examples: ["npm run drift -- --stack prod"],
} as const satisfies CommandSpec;

export interface DriftOptions {
  stack: string;
}

export function parseDriftArgs(argv: readonly string[]): { help: true } | { help: false; options: DriftOptions } {
  const parsed = parseArgs(driftSpec, argv);
  if (parsed.help) return parsed;
  return { help: false, options: { stack: parsed.values.stack } };
}

/** The parts of an engine event summarizeDrift reads (Automation API's `EngineEvent` fits). */
export interface DriftEvent {
  resourcePreEvent?: {
    metadata: {
      op: string;
      urn: string;
      type: string;
      diffs?: string[];
      keys?: string[];
      detailedDiff?: Record<string, unknown>;
    };
  };
}

export type DriftOp = "create" | "update" | "replace" | "delete" | "import" | "other";

export interface DriftItem {
  urn: string;
  /** Logical name (the last URN segment). */
  name: string;
  type: string;
  op: DriftOp;
  /** Properties that differ, sorted. */
  diffs: string[];
}

/** Steps that change nothing on the host: a refresh reads it, `same` leaves it. */
const IGNORED_OPS = new Set(["same", "read", "refresh", "read-replacement", "discard", "discard-replaced"]);

const NORMALIZED: Record<string, DriftOp> = {
  create: "create",
  update: "update",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  delete: "delete",
  import: "import",
  "import-replacement": "replace",
};

const RANK: Record<DriftOp, number> = { replace: 5, create: 4, delete: 4, import: 3, update: 2, other: 1 };

/** The resources a refresh+preview would change, one per URN, in the order the engine reported them. */
export function summarizeDrift(events: readonly DriftEvent[]): DriftItem[] {
  const byUrn = new Map<string, DriftItem>();
  for (const event of events) {
    const meta = event.resourcePreEvent?.metadata;
    if (!meta || IGNORED_OPS.has(meta.op)) continue;
    const op = NORMALIZED[meta.op] ?? "other";
    const diffs = [...(meta.diffs ?? []), ...(meta.keys ?? []), ...Object.keys(meta.detailedDiff ?? {})];
    const existing = byUrn.get(meta.urn);
    if (existing) {
      if (RANK[op] > RANK[existing.op]) existing.op = op;
      existing.diffs = [...new Set([...existing.diffs, ...diffs])].sort();
    } else {
      byUrn.set(meta.urn, {
        urn: meta.urn,
        name: nameOf(meta.urn),
        type: meta.type,
        op,
        diffs: [...new Set(diffs)].sort(),
      });
    }
  }
  return [...byUrn.values()];
}

const SYMBOL: Record<DriftOp, string> = {
  create: "+",
  update: "~",
  replace: "+-",
  delete: "-",
  import: "=",
  other: "?",
};

function explain(item: DriftItem): string {
  switch (item.op) {
    case "create":
      return "missing on the host: would be created";
    case "delete":
      return "not in the program any more: would be deleted";
    case "replace":
      return `would be replaced${item.diffs.length ? `; differs in: ${item.diffs.join(", ")}` : ""}`;
    case "update":
      return item.diffs.length ? `differs in: ${item.diffs.join(", ")}` : "differs from the program";
    case "import":
      return "would be imported";
    default:
      return "would change";
  }
}

/** The report printed when the host has drifted. */
export function formatDrift(items: readonly DriftItem[], stack: string): string {
  const rows = items.map((i) => [`${SYMBOL[i.op]} ${i.op}`, `${i.name} (${i.type})`, explain(i)]);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const lines = [
    `drift: stack ${stack} differs from the live host (${items.length} resource${items.length === 1 ? "" : "s"}):`,
    ...rows.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`),
    "",
    `To put the host back as the program describes it: npm run deploy -- --stack ${stack}`,
    "To keep a change made on the host, bring it into the program or the stack config instead.",
  ];
  return `${lines.join("\n")}\n`;
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(driftSpec, io, () => parseDriftArgs(argv));
  if (args.kind === "exit") return args.code;
  const { stack: stackName } = args.options;

  const events: DriftEvent[] = [];
  let stack: StackLike | undefined;
  let failure: unknown;
  try {
    stack = await deps.openStack(stackName, deps.repoRoot, false);
    io.out(`Refreshing stack ${stackName} from the live host and previewing…\n`);
    await stack.preview({
      refresh: true,
      expectNoChanges: true,
      policyPacks: policyPacks(deps),
      diff: true,
      color: io.isTTY ? "always" : "never",
      onOutput: io.out,
      onEvent: (event) => events.push(event),
    });
  } catch (error) {
    failure = error;
  }

  const items = summarizeDrift(events);
  const message = failure === undefined ? undefined : describeError(failure);
  // `expectNoChanges` makes the preview fail when something differs: that failure is the drift itself.
  const expected = message !== undefined && /no changes were expected/i.test(message);
  if (message !== undefined && !expected) io.err(`error: drift check of stack ${stackName} failed: ${message}\n`);
  let red = message !== undefined;
  if (items.length > 0) io.out(`\n${formatDrift(items, stackName)}`);
  else if (expected) io.out(`\ndrift: stack ${stackName} differs from the live host (see the preview above)\n`);

  // What a refresh never re-reads (the host commands' effects); checked even when the preview failed.
  if (stack) red = !(await checkHost(stack, io, deps)) || red;
  if (red) return 1;
  io.out(`\nno drift: stack ${stackName} matches the live host\n`);
  return 0;
}

/** Runs the read-only host check from the stack's `hostExpectations` output; true when the host matches. */
async function checkHost(stack: StackLike, io: Io, deps: OpsDeps): Promise<boolean> {
  try {
    const outputs = Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value]));
    const expectations = hostExpectations(outputs);
    io.out(`\nChecking the host's folders, backup cron entry, database roles and owners…\n`);
    const result = await deps.host.capture(await hostTargetOf(stack), hostCheckCommand(expectations), {
      timeoutMs: 120_000,
    });
    const drift = parseHostCheck(result);
    if (drift.ok) return true;
    io.out(formatHostDrift(drift, stack.name));
    return false;
  } catch (error) {
    io.err(`error: host check of stack ${stack.name} failed: ${describeError(error)}\n`);
    return false;
  }
}

/** The report printed when the host side differs, one line per difference as the check named it. */
export function formatHostDrift(drift: HostDrift, stack: string): string {
  const n = drift.differences.length;
  const lines = [
    `drift: the host of stack ${stack} differs from what the program made (${n} difference${n === 1 ? "" : "s"}${drift.incomplete ? "; some checks could not run" : ""}):`,
    ...drift.differences.map((d) => `  ${d.line}`),
    "",
    "Host commands run only when their inputs change, so a deploy does not put these back: fix them by hand " +
      "(RUNBOOK, Drift), or re-run the command that makes them with `pulumi up --replace <its urn>`.",
  ];
  return `${lines.join("\n")}\n`;
}

function nameOf(urn: string): string {
  const i = urn.lastIndexOf("::");
  return i === -1 ? urn : urn.slice(i + 2);
}

if (require.main === module) runCli((argv, io) => main(argv, io));

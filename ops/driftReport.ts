/** What `npm run drift` reports: the resources a refresh+preview would change, and the host's differences. */
import type { HostDrift } from "./hostDrift";

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

type DriftOp = "create" | "update" | "replace" | "delete" | "import" | "other";

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

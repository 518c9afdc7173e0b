/**
 * Pure rollback planning over a stack's update history.
 *
 * The history is what Automation API `stack.history()` returns, or the parsed output of
 * `pulumi stack history --json`: newest first, one entry per operation, each with the full
 * config at that operation. Only `kind: "update"` entries matter (previews, refreshes and
 * destroys never deploy versions).
 */
import { postgresMajor } from "../components/imageRef";
import { PROJECT } from "../stacks/configSchema";

export const SERVICES_KEY = `${PROJECT}:services`;
const TRAEFIK_IMAGE_KEY = `${PROJECT}:traefik.image`;
const POSTGRES_IMAGE_KEY = `${PROJECT}:postgres.image`;

/** The README section a refused Postgres major-version rollback points to. */
const POSTGRES_UPGRADE_DOC = 'README.md, section "Upgrading PostgreSQL to a new major version"';

interface HistoryConfigValue {
  value?: string;
  /** `pulumi stack history --json` adds the parsed object for object values. */
  objectValue?: unknown;
  secret?: boolean;
}

/** One entry of the history: structurally compatible with the Automation API's `UpdateSummary`. */
export interface HistoryEntry {
  version: number;
  kind: string;
  result: string;
  startTime?: string | Date;
  endTime?: string | Date;
  message?: string;
  environment?: Record<string, string>;
  config?: Record<string, HistoryConfigValue>;
  resourceChanges?: Record<string, number | undefined>;
}

/** Full config key (`ems-infra:services.ems.version`) → value; `undefined` when unset at that update. */
export type Versions = Record<string, string | undefined>;

interface VersionChange {
  key: string;
  from: string | undefined;
  to: string;
}

export interface RollbackPlan {
  from: { update: number; versions: Versions };
  to: { update: number; versions: Versions };
  changes: VersionChange[];
  /** Things the operator should know that do not block the rollback. */
  notes: string[];
}

export interface PlanOptions {
  /** Roll back to this update number instead of the last successful one before the current. */
  to?: number;
  /** Stack name, for messages. */
  stack?: string;
}

/** Image versions deployed by one update: every `services.<svc>.version`, then `traefik.image` and `postgres.image`. */
export function versionsOf(entry: HistoryEntry): Versions {
  const config = entry.config ?? {};
  const versions: Versions = {};
  const services = objectValue(config[SERVICES_KEY]);
  if (services) {
    for (const name of Object.keys(services).sort()) {
      const version = (services[name] as Record<string, unknown> | undefined)?.version;
      versions[`${SERVICES_KEY}.${name}.version`] = scalar(version);
    }
  }
  versions[TRAEFIK_IMAGE_KEY] = scalar(objectValue(config[`${PROJECT}:traefik`])?.image);
  versions[POSTGRES_IMAGE_KEY] = scalar(objectValue(config[`${PROJECT}:postgres`])?.image);
  return versions;
}

export function planRollback(history: readonly HistoryEntry[], options: PlanOptions = {}): RollbackPlan {
  const stackName = options.stack === undefined ? "the stack" : `stack ${options.stack}`;
  const updates = newestFirst(history.filter((h) => h.kind === "update"));
  const succeeded = updates.filter((h) => h.result === "succeeded");

  if (succeeded.length === 0) throw new Error(`nothing to roll back to: ${stackName} has no successful update`);
  const current = succeeded[0];
  if (succeeded.length === 1 && options.to === undefined) {
    throw new Error(`nothing to roll back to: ${stackName} has only one successful update (#${current.version})`);
  }

  let target: HistoryEntry;
  if (options.to === undefined) {
    target = succeeded[1];
  } else {
    const n = options.to;
    const entry = history.find((h) => h.version === n);
    if (!entry) {
      const numbers = updates.map((u) => u.version);
      const range = numbers.length
        ? ` (its updates run from #${Math.min(...numbers)} to #${Math.max(...numbers)})`
        : "";
      throw new Error(`--to ${n}: ${stackName} has no update #${n}${range}`);
    }
    if (entry.kind !== "update")
      throw new Error(`--to ${n}: #${n} is a ${entry.kind}, not an update; pick an update that succeeded`);
    if (entry.result !== "succeeded")
      throw new Error(
        `--to ${n}: update #${n} did not succeed (result: ${entry.result}); pick an update that succeeded`,
      );
    if (n === current.version)
      throw new Error(`--to ${n}: update #${n} is the current deployment; pick an earlier update`);
    target = entry;
  }

  const from = versionsOf(current);
  const to = versionsOf(target);
  const notes: string[] = [];
  const changes: VersionChange[] = [];
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    const a = from[key];
    const b = to[key];
    if (a === b) continue;
    if (b === undefined) {
      notes.push(
        key.startsWith(`${SERVICES_KEY}.`) && !(key in to)
          ? `${serviceOf(key)} did not exist at update #${target.version}: it stays at ${a}`
          : `${key} was not set at update #${target.version} (program default): it stays at ${a}`,
      );
      continue;
    }
    if (a === undefined && key.startsWith(`${SERVICES_KEY}.`) && !(key in from)) {
      notes.push(
        `${serviceOf(key)} is no longer deployed (it was at ${b} in update #${target.version}): it is not brought back`,
      );
      continue;
    }
    changes.push({ key, from: a, to: b });
  }

  if (changes.length === 0) {
    throw new Error(
      `nothing to roll back: update #${target.version} deployed the same versions as the current update #${current.version}`,
    );
  }

  const postgres = changes.find((c) => c.key === POSTGRES_IMAGE_KEY);
  if (postgres) checkPostgresRollback(postgres);

  const newerFailures = updates.filter((u) => u.version > current.version && u.result !== "succeeded");
  for (const u of newerFailures) {
    notes.push(
      `update #${u.version} (newer than the current #${current.version}) ${u.result === "failed" ? "failed" : `is ${u.result}`}: the host may be partly on its versions`,
    );
  }
  notes.push("only image versions are rolled back: other settings keep their current values");

  return {
    from: { update: current.version, versions: from },
    to: { update: target.version, versions: to },
    changes,
    notes,
  };
}

/** A data volume written by one PostgreSQL major version cannot be opened by another: never roll across majors. */
function checkPostgresRollback(change: VersionChange): void {
  const fromMajor = postgresMajor(change.from);
  const toMajor = postgresMajor(change.to);
  if (fromMajor === undefined || toMajor === undefined) {
    const unknown = fromMajor === undefined ? (change.from ?? "the program default") : change.to;
    throw new Error(
      `refusing to roll back ${POSTGRES_IMAGE_KEY} from ${change.from ?? "the program default"} to ${change.to}: ` +
        `cannot tell the PostgreSQL major version of ${unknown}, and a major-version change cannot reuse the data volume; ` +
        `see ${POSTGRES_UPGRADE_DOC}`,
    );
  }
  if (fromMajor !== toMajor) {
    throw new Error(
      `refusing to roll back ${POSTGRES_IMAGE_KEY} from ${change.from} to ${change.to}: ` +
        `PostgreSQL ${toMajor} cannot open a data volume written by PostgreSQL ${fromMajor}; ` +
        `restore a backup as described in ${POSTGRES_UPGRADE_DOC}`,
    );
  }
}

export interface FormatHistoryOptions {
  /** How many updates to list (default 10). */
  limit?: number;
}

/** Recent updates, newest first, with the versions each deployed: what `npm run rollback` prints first. */
export function formatHistory(history: readonly HistoryEntry[], options: FormatHistoryOptions = {}): string {
  const updates = newestFirst(history.filter((h) => h.kind === "update"));
  if (updates.length === 0) return "No updates yet.\n";
  const current = updates.find((u) => u.result === "succeeded")?.version;
  const shown = updates.slice(0, options.limit ?? 10);

  const rows = shown.map((u) => [
    `#${u.version}`,
    formatTime(u.startTime),
    u.result,
    describeVersions(versionsOf(u)),
    [u.version === current ? "(current)" : "", oneLine(u.message ?? "")].filter(Boolean).join(" "),
  ]);
  const header = ["update", "started (UTC)", "result", "versions", "message"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();

  const lines = [render(header), ...rows.map(render)];
  if (updates.length > shown.length) lines.push(`… ${updates.length - shown.length} older update(s) not shown`);
  return `${lines.map((l) => `  ${l}`).join("\n")}\n`;
}

/** `ems=1.4.2 sms=1.1.0 traefik:v3.3.5 postgres:16.6`. */
export function describeVersions(versions: Versions): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(versions)) {
    if (key.startsWith(`${SERVICES_KEY}.`)) parts.push(`${serviceOf(key)}=${value ?? "?"}`);
    else if (value !== undefined) parts.push(value);
    else parts.push(`${key.slice(PROJECT.length + 1).split(".")[0]}=(default)`);
  }
  return parts.join(" ");
}

function serviceOf(key: string): string {
  return key.slice(SERVICES_KEY.length + 1, -".version".length);
}

function newestFirst(entries: HistoryEntry[]): HistoryEntry[] {
  return [...entries].sort((a, b) => b.version - a.version);
}

function objectValue(v: HistoryConfigValue | undefined): Record<string, unknown> | undefined {
  if (!v) return undefined;
  if (isRecord(v.objectValue)) return v.objectValue;
  if (typeof v.value !== "string") return undefined;
  try {
    const parsed: unknown = JSON.parse(v.value);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

function formatTime(t: string | Date | undefined): string {
  if (t === undefined) return "?";
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().slice(0, 16).replace("T", " ");
}

function oneLine(s: string, max = 60): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What the plan changes, one line per key: `ems-infra:services.ems.version  1.5.0 → 1.4.2`. */
export function formatPlan(plan: RollbackPlan, stack: string): string {
  const width = Math.max(...plan.changes.map((c) => c.key.length));
  const lines = [
    `Rollback of stack ${stack}: current update #${plan.from.update} → versions of update #${plan.to.update}`,
    ...plan.changes.map((c) => `  ${c.key.padEnd(width)}  ${c.from ?? "(unset)"} → ${c.to}`),
    ...plan.notes.map((n) => `note: ${n}`),
  ];
  return `${lines.join("\n")}\n`;
}

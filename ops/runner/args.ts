/**
 * A small, strict command-line parser shared by the ops CLIs (deploy, rollback, drift).
 *
 * - flags are declared up front with a type, a description and whether they are required;
 * - `--name value` and `--name=value` both work for valued flags; booleans take no value;
 * - an unknown flag, a missing or empty value, a repeated flag or a stray argument is an error
 *   ({@link UsageError}, exit code 2) whose message names the culprit;
 * - `--help` / `-h` anywhere wins: the caller prints {@link formatHelp} and exits 0.
 *
 * Pure: no I/O, no dependency beyond the language.
 */

type FlagType = "string" | "boolean" | "integer";

export interface FlagSpec {
  type: FlagType;
  description: string;
  required?: boolean;
  /** Placeholder shown in the help for valued flags, e.g. `name` renders `--stack <name>`. */
  valueName?: string;
  /** One-letter alias, e.g. `s` for `-s prod`. */
  short?: string;
}

/** The `--stack`/`-s` flag every command takes (required). */
export function stackFlag(description: string) {
  return { type: "string", required: true, short: "s", valueName: "name", description } as const;
}

/** The `--yes`/`-y` flag of every command that asks before it changes something. */
export function yesFlag(description = "Do not ask for confirmation (required when not run from a terminal)") {
  return { type: "boolean", short: "y", description } as const;
}

export interface CommandSpec {
  /** How the command is invoked, e.g. `npm run deploy --`. */
  command: string;
  summary: string;
  flags: Readonly<Record<string, FlagSpec>>;
  examples?: readonly string[];
  /** Extra paragraphs printed after the flags. */
  notes?: readonly string[];
}

type ValueOf<F extends FlagSpec> = F["type"] extends "boolean"
  ? boolean
  : F["type"] extends "integer"
    ? number
    : string;

/** Parsed values: booleans are always present (false when absent), required flags always set, others optional. */
export type FlagValues<Flags extends Readonly<Record<string, FlagSpec>>> = {
  -readonly [K in keyof Flags]: Flags[K]["type"] extends "boolean"
    ? boolean
    : Flags[K]["required"] extends true
      ? ValueOf<Flags[K]>
      : ValueOf<Flags[K]> | undefined;
};

export type ParseResult<Flags extends Readonly<Record<string, FlagSpec>>> =
  { help: true } | { help: false; values: FlagValues<Flags> };

/** A command-line mistake: print the message and the hint, exit 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const HELP_TOKENS = new Set(["--help", "-h"]);
const FLAG_NAME = /^[a-z][a-z0-9-]*$/;

export function parseArgs<Flags extends Readonly<Record<string, FlagSpec>>>(
  spec: CommandSpec & { flags: Flags },
  argv: readonly string[],
): ParseResult<Flags> {
  for (const name of Object.keys(spec.flags)) {
    if (!FLAG_NAME.test(name) || name === "help") throw new Error(`invalid flag declaration: ${name}`);
    const short = spec.flags[name].short;
    if (short !== undefined && !/^[a-gi-z]$/.test(short)) throw new Error(`invalid short flag for ${name}: ${short}`);
  }
  if (argv.some((a) => HELP_TOKENS.has(a))) return { help: true };

  const values: Record<string, string | number | boolean | undefined> = {};
  const seen = new Set<string>();

  const shorts = new Map<string, string>();
  for (const [name, flag] of Object.entries(spec.flags)) if (flag.short) shorts.set(`-${flag.short}`, `--${name}`);
  for (let i = 0; i < argv.length; i++) {
    const token = shorts.get(argv[i]) ?? argv[i];
    if (!token.startsWith("--") || token === "--") {
      throw new UsageError(
        `unexpected argument "${token}": every option is a --flag (valid flags: ${validFlags(spec)})`,
      );
    }
    const eq = token.indexOf("=");
    const name = token.slice(2, eq === -1 ? undefined : eq);
    const flag = Object.prototype.hasOwnProperty.call(spec.flags, name) ? spec.flags[name] : undefined;
    if (!flag) {
      const hint = closest(name, Object.keys(spec.flags));
      throw new UsageError(
        `unknown flag --${name}${hint ? ` (did you mean --${hint}?)` : ""}; valid flags: ${validFlags(spec)}`,
      );
    }
    if (seen.has(name)) throw new UsageError(`--${name} is given more than once`);
    seen.add(name);

    if (flag.type === "boolean") {
      if (eq !== -1) throw new UsageError(`--${name} is a switch and takes no value (got "${token.slice(eq + 1)}")`);
      values[name] = true;
      continue;
    }

    let raw: string | undefined;
    if (eq !== -1) {
      raw = token.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("-")) {
        raw = next;
        i++;
      }
    }
    if (raw === undefined || raw.trim() === "")
      throw new UsageError(`missing value for --${name} <${placeholder(name, flag)}>`);

    if (flag.type === "integer") {
      if (!/^[0-9]+$/.test(raw)) throw new UsageError(`--${name} must be a whole number (got "${raw}")`);
      values[name] = Number(raw);
    } else {
      values[name] = raw;
    }
  }

  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.type === "boolean") values[name] = values[name] === true;
    else if (flag.required && values[name] === undefined)
      throw new UsageError(`missing required flag --${name} <${placeholder(name, flag)}>`);
  }
  return { help: false, values: values as FlagValues<Flags> };
}

/** The usage text printed by `--help`. */
export function formatHelp(spec: CommandSpec): string {
  const entries = Object.entries(spec.flags);
  const synopsis = entries.map(([name, flag]) => {
    const text = flag.type === "boolean" ? `--${name}` : `--${name} <${placeholder(name, flag)}>`;
    return flag.required ? text : `[${text}]`;
  });
  const rows: Array<[string, string]> = entries.map(([name, flag]) => [
    `${flag.short ? `-${flag.short}, ` : ""}${flag.type === "boolean" ? `--${name}` : `--${name} <${placeholder(name, flag)}>`}`,
    `${flag.description}${flag.required ? " (required)" : ""}`,
  ]);
  rows.push(["-h, --help", "Show this help and exit"]);
  const width = Math.max(...rows.map(([left]) => left.length));

  const lines = [`Usage: ${spec.command} ${synopsis.join(" ")}`.trimEnd(), "", spec.summary, "", "Flags:"];
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}  ${right}`);
  if (spec.notes?.length) {
    lines.push("");
    lines.push(...spec.notes);
  }
  if (spec.examples?.length) {
    lines.push("", "Examples:");
    for (const example of spec.examples) lines.push(`  ${example}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The one-line hint printed under a usage error. */
export function usageHint(spec: CommandSpec): string {
  return `Run \`${spec.command} --help\` for usage.`;
}

function validFlags(spec: CommandSpec): string {
  return [...Object.keys(spec.flags).map((n) => `--${n}`), "--help"].join(", ");
}

function placeholder(name: string, flag: FlagSpec): string {
  return flag.valueName ?? name;
}

/** The declared flag nearest to a mistyped one (edit distance ≤ 2), if any. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

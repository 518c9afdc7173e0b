/**
 * Host-side drift (m6): what a `pulumi refresh` never re-reads, because the command provider's Read returns the
 * state unchanged: the folders and their modes, the backup crontab entry, the database roles and owners.
 * `hostCheckCommand` builds the read-only check (components/scripts/host-check.sh, inlined so it runs the same
 * through `sh -c` here or over ssh) from what the stack expects; `parseHostCheck` reads its result.
 *
 * ops/drift.ts runs `hostCheckCommand(hostExpectations(outputs))` on the stack's host after the refresh-preview and
 * reads it with `parseHostCheck`; any difference (or a check that could not run) makes `npm run drift` red.
 */
import { readScript, shellQuote } from "../components/shell";

export type { HostExpectations } from "../stacks/hostExpectations";
import type { HostExpectations } from "../stacks/hostExpectations";

/** One difference the check printed, e.g. `{ kind: "folder", subject: "/x", detail: "missing" }`. */
export interface HostDifference {
  /** folder, cron, role, database, or the name of a check that could not run (roles, databases, cron). */
  kind: string;
  /** What differs (a path, a role, a job), as printed. */
  subject: string;
  /** How it differs. */
  detail: string;
  /** The line as printed. */
  line: string;
}

export interface HostDrift {
  /** No difference and every check ran. */
  ok: boolean;
  /** A check could not run (exit 2): the result is incomplete. */
  incomplete: boolean;
  differences: HostDifference[];
}

/** The expectations the stack exports as its `hostExpectations` output (see HostExpectations); throws when absent. */
export function hostExpectations(outputs: Record<string, unknown>): HostExpectations {
  const value = outputs.hostExpectations as HostExpectations | undefined;
  if (!value || !Array.isArray(value.folders))
    throw new Error("the stack has no hostExpectations output: deploy it once with this version of ems-infra");
  return value;
}

const SAFE_MODE = /^[0-7]{3,4}$/;

/** The check's arguments; a value with a newline (which the script cannot carry) throws. */
export function hostCheckArgs(exp: HostExpectations): string[] {
  const args: string[] = [];
  const put = (flag: string, value: string) => {
    if (/[\n\0]/.test(value)) throw new Error(`host check: ${flag} value contains a newline: ${JSON.stringify(value)}`);
    args.push(flag, value);
  };
  for (const f of exp.folders) {
    if (f.mode !== undefined && !SAFE_MODE.test(f.mode))
      throw new Error(`host check: folder ${f.path}: mode ${f.mode} is not octal`);
    if (!f.path.startsWith("/")) throw new Error(`host check: folder ${f.path} is not absolute`);
    put("--folder", `${f.mode ?? ""}:${f.path}`);
  }
  if (exp.cron) put("--cron", `${exp.cron.job}=${exp.cron.line}`);
  if (exp.postgres) {
    put("--postgres", `${exp.postgres.container}:${exp.postgres.superuser}`);
    for (const r of exp.postgres.roles) put("--role", r);
    for (const d of exp.postgres.databases) put("--database", `${d.name}:${d.owner}`);
  }
  return args;
}

/** One command line (for `sh -c` or ssh) running host-check.sh with the expectations, every value quoted. */
export function hostCheckCommand(exp: HostExpectations): string {
  return [
    "sh",
    "-c",
    shellQuote(readScript("host-check.sh")),
    "host-check",
    ...hostCheckArgs(exp).map(shellQuote),
  ].join(" ");
}

// A folder path may hold spaces and colons: its detail is one of the script's three.
const LINE =
  /^(folder) (.+): (missing|not a folder|mode \d+, want \d+)$|^(role|database) (\S+): (.+)$|^(cron|roles|databases): (?:(ems-infra:\S+) )?(.+)$/;

/** The check's result: exit 0 clean, 1 differences, 2 incomplete; anything else (ssh failure...) throws. */
export function parseHostCheck(result: { code: number; stdout: string; stderr: string }): HostDrift {
  if (![0, 1, 2].includes(result.code))
    throw new Error(`host check failed (exit ${result.code}): ${(result.stderr || result.stdout).trim()}`);
  const differences = result.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line): HostDifference => {
      const m = LINE.exec(line);
      if (!m) return { kind: "other", subject: "", detail: line, line };
      if (m[1]) return { kind: m[1], subject: m[2], detail: m[3], line };
      if (m[4]) return { kind: m[4], subject: m[5], detail: m[6], line };
      return { kind: m[7], subject: m[8] ?? "", detail: m[9], line };
    });
  if (result.code === 1 && differences.length === 0)
    throw new Error(`host check exited 1 but printed nothing: ${result.stderr.trim()}`);
  return { ok: result.code === 0 && differences.length === 0, incomplete: result.code === 2, differences };
}

/**
 * Host-side drift (m6): what a `pulumi refresh` never re-reads, because the command provider's Read returns the
 * state unchanged: the folders and their modes, the backup crontab entry, the database roles and owners.
 * `hostCheckCommand` builds the read-only check (components/scripts/host-check.sh, inlined so it runs the same
 * through `sh -c` here or over ssh) from what the stack expects; `parseHostCheck` reads its result.
 *
 * ops/commands/drift.ts runs `hostCheckCommand` (hostCommands/hostCheck.ts) with the `hostExpectations` output on the stack's host after the refresh-preview and
 * reads it with `parseHostCheck`; any difference (or a check that could not run) makes `npm run drift` red.
 */
export type { HostExpectations } from "../stacks/hostExpectations";

/** One difference the check printed, e.g. `{ kind: "folder", subject: "/x", detail: "missing" }`. */
interface HostDifference {
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

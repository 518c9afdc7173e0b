/**
 * The off-site copy as the ops commands see it: the stack's `offsite` output (nothing secret: the credentials
 * stay on the host), and the ages `npm run status` reports from what offsite.sh recorded on the host.
 */
import { OpsOutputs } from "../stacks/opsContract";

/** The `offsite` stack output (stacks/opsContract.ts). */
export type OffsiteInfo = NonNullable<OpsOutputs["offsite"]>;

/** The stack's off-site copy when it is on; a stack deployed before it existed, or without its secret, has none. */
export function offsiteOf(outputs: Pick<OpsOutputs, "offsite">): OffsiteInfo | undefined {
  const o = outputs.offsite;
  return o && o.enabled && o.command !== "" ? o : undefined;
}

/** The warning deploy and status print for a production stack whose off-site copy is off. */
export function offsiteOffWarning(stack: string): string {
  return (
    `warning: stack ${stack} has no off-site backup: one lost disk or VPS loses every upload and database. ` +
    `Set it up: pulumi config set --secret ems-infra:backupOffsite '{"repository":"…","password":"…"}' --stack ${stack} (README, "Off-site backups")`
  );
}

/** What status prints about the off-site copy, and what makes it exit 1. */
export interface OffsiteReport {
  lines: string[];
  problems: string[];
}

const hours = (ms: number) => ms / 3_600_000;

function age(from: Date, now: Date): string {
  const h = hours(now.getTime() - from.getTime());
  return h < 48 ? `${Math.max(0, Math.floor(h))}h ago` : `${Math.floor(h / 24)}d ago`;
}

/**
 * Reads offsite.sh's `status` output: `last-backup<TAB>time<TAB>snapshot<TAB>run<TAB>bytes added`,
 * `last-drill<TAB>time<TAB>snapshot<TAB>run<TAB>counts`, `last-drill-failed<TAB>time<TAB>snapshot<TAB>why`.
 */
export function offsiteReport(
  statusText: string,
  info: Pick<OffsiteInfo, "maxAgeHours" | "drillMaxAgeDays">,
  now: Date,
): OffsiteReport {
  const rows = new Map(
    statusText
      .split("\n")
      .filter((l) => l.includes("\t"))
      .map((l) => {
        const [key, ...rest] = l.split("\t");
        return [key, rest] as const;
      }),
  );
  const lines: string[] = [];
  const problems: string[] = [];
  const backup = rows.get("last-backup");
  if (backup) {
    const when = new Date(backup[0]);
    lines.push(`off-site backup: snapshot ${backup[1]} of run ${backup[2]}, ${age(when, now)} (${backup[0]})`);
    if (hours(now.getTime() - when.getTime()) > info.maxAgeHours)
      problems.push(`the last off-site backup is older than ${info.maxAgeHours}h (backup.offsite.maxAgeHours)`);
  } else {
    lines.push("off-site backup: none yet");
    problems.push("no off-site backup was ever made (see the backup log)");
  }
  const drill = rows.get("last-drill");
  if (drill) {
    const when = new Date(drill[0]);
    lines.push(
      `last good drill: snapshot ${drill[1]} (run ${drill[2]}), ${age(when, now)}: ${drill[3] ?? ""}`.trimEnd(),
    );
    if (hours(now.getTime() - when.getTime()) > info.drillMaxAgeDays * 24)
      problems.push(
        `the last successful restore drill is older than ${info.drillMaxAgeDays}d (backup.offsite.drillMaxAgeDays)`,
      );
  } else {
    lines.push("last good drill: none yet");
    problems.push("no restore drill ever passed (npm run backup -- --stack <name> --drill)");
  }
  const failed = rows.get("last-drill-failed");
  if (failed)
    lines.push(`last drill FAILED: snapshot ${failed[1]}, ${age(new Date(failed[0]), now)}: ${failed[2] ?? ""}`);
  return { lines, problems };
}

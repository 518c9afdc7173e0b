/** Host command lines for the backup's crontab entry and the data folders (`npm run down`). */
import { shellQuote as q, withoutCronJobs } from "../../components/shell";

/**
 * Removes the backup's crontab line (the one ending in its marker `# ems-infra:<job>`, not a longer job name's),
 * leaving every other entry; nothing is written when there is no such line or no crontab.
 */
export function removeCronLineCommand(job: string): string {
  return [
    "current=$(crontab -l 2>/dev/null) || exit 0",
    `kept=$(printf '%s\\n' "$current" | ${withoutCronJobs([job])})`,
    '[ "$kept" = "$current" ] && exit 0',
    "printf '%s\\n' \"$kept\" | crontab -",
  ].join("; ");
}

/** Deletes folders and everything in them. */
export function removeFoldersCommand(folders: readonly string[]): string {
  return `rm -rf -- ${folders.map(q).join(" ")}`;
}

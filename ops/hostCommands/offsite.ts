/** The host command lines of the off-site copy: offsite.sh (the stack's `offsite.command` output) and its verbs. */
import { shellQuote } from "../../components/shell";

/** What offsite.sh recorded on the host (`last-backup<TAB>…`, `last-drill<TAB>…` lines). */
export function offsiteStatusCommand(offsite: string): string {
  return `${offsite} status`;
}

/** The restore drill of the newest snapshot. */
export function offsiteDrillCommand(offsite: string): string {
  return `${offsite} drill`;
}

/** A restore from the off-site repository onto the host, with offsite.sh's checked options. */
export function offsiteRestoreCommand(offsite: string, args: readonly string[]): string {
  return [`${offsite} restore`, ...args.map(shellQuote)].join(" ");
}

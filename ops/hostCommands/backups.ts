/** The host command lines that read and restore the stack's backups. */
import { shellQuote } from "../../components/shell";

/**
 * The host command printing the newest dump of a backups folder as `name<TAB>bytes<TAB>time`, or nothing.
 * Newest by the timestamp in the name (`<db>_<ts>.dump`), as backup.sh's retention reads it, never by mtime.
 */
export function newestDumpCommand(backupDir: string): string {
  const dir = shellQuote(backupDir);
  return (
    `newest=$(for f in ${dir}/*.dump; do [ -e "$f" ] && printf '%s %s\\n' "\${f##*_}" "$f"; done | sort | tail -n 1 | cut -d ' ' -f 2-); ` +
    `if [ -n "$newest" ]; then printf '%s\\t%s\\t%s\\n' "\${newest##*/}" "$(wc -c < "$newest")" "$(date -r "$newest" '+%Y-%m-%d %H:%M %Z')"; fi`
  );
}

/** The host command printing the backup log's last line, or nothing. */
export function lastLogLineCommand(logFile: string): string {
  return `tail -n 1 ${shellQuote(logFile)} 2>/dev/null || true`;
}

/** The stack's restore command (its `restoreCommand` output) with the dump and, when given, the database. */
export function restoreCommand(restore: string, dump: string, database?: string): string {
  return `${restore} ${[dump, ...(database ? [database] : [])].map(shellQuote).join(" ")}`;
}

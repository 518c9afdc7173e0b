/**
 * The host commands of the cut-over, as POSIX `sh` strings (dash runs them on Debian). Every value is
 * quoted with `q`; secrets travel on stdin only. The rehearsal test runs each of them against dockerd.
 */
import { readScript, shellQuote as q } from "../../components/shell";
import { volumeHoldersCommand } from "./dataVolume";

/** The marker pg_dumpall writes on the last lines of a complete dump. */
const DUMPALL_COMPLETE = "PostgreSQL database cluster dump complete";

/** Run in the PostgreSQL container with the superuser as $1 (query_to_xml: an exact count(*) per table, one query per database). */
const ROW_COUNTS = `dbs=$(psql -X -A -t -q -U "$1" -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate") || exit 1
out=$(for db in $dbs; do
  psql -X -A -t -q -F ' ' -U "$1" -d "$db" -c "SELECT current_database() || '.' || schemaname || '.' || tablename, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" || exit 1
done) || exit 1
printf '%s\\n' "$out" | sort`;

function sessionsIn(containerWord: string, user: string): string {
  return `docker exec ${containerWord} psql -X -A -t -q -U ${q(user)} -d postgres -c ${q("SELECT usename || ' ' || datname FROM pg_stat_activity WHERE usename IS NOT NULL AND datname IS NOT NULL")}`;
}

export const CUTOVER_COMMANDS = {
  /**
   * `pg_dumpall` of the running server, gzipped into `out` (mode 600). pg_dumpall's own exit status is
   * carried out of the pipe on fd 3 (dash has no pipefail); the file is checked whole and complete
   * before it gets its final name, so a partial dump never looks like a backup.
   */
  dumpAll: (container: string, user: string, out: string) => `set -eu
umask 077
out=${q(out)}
tmp="$out.partial"
mkdir -p "$(dirname "$out")"
st=$( { { rc=0; docker exec ${q(container)} pg_dumpall -U ${q(user)} || rc=$?; echo "$rc" >&3; } | gzip >"$tmp"; } 3>&1 )
if [ "$st" != 0 ]; then rm -f "$tmp"; echo "pg_dumpall exited with $st" >&2; exit 1; fi
if ! gzip -t "$tmp" || ! gzip -dc "$tmp" | tail -n 5 | grep -q ${q(DUMPALL_COMPLETE)}; then
  rm -f "$tmp"; echo "the dump is incomplete" >&2; exit 1
fi
mv "$tmp" "$out"
printf '%s bytes\\n' "$(wc -c <"$out" | tr -d ' ')"`,

  /** A byte copy of the ACME file keeping its mode (600), checked with cmp; prints "absent" when there is none. */
  copyAcme: (from: string, to: string) => `set -eu
from=${q(from)}
to=${q(to)}
if [ ! -e "$from" ]; then echo absent; exit 0; fi
mkdir -p "$(dirname "$to")"
cp -p "$from" "$to"
cmp "$from" "$to"
echo copied`,

  /** The restart policy of a container (`always`, `unless-stopped`, `no`...). */
  restartPolicy: (container: string) => `docker inspect --format '{{.HostConfig.RestartPolicy.Name}}' ${q(container)}`,

  /**
   * Stops a container and sets its restart policy to `no`: an `always` container that is only stopped
   * comes back when dockerd restarts (a reboot), and the old Postgres would then open the volume the new
   * one uses, the old Traefik take 80/443.
   */
  stop: (container: string, seconds: number) =>
    `docker update --restart=no ${q(container)} >/dev/null && docker stop -t ${seconds} ${q(container)} >/dev/null`,

  /**
   * The old APIs: restart policy `no`, then SIGKILL at once. They ignore SIGTERM (real-system.md §6), so
   * `docker stop -t N` would only wait N seconds; the old Traefik is stopped first, so no request is in flight.
   * A container that is already stopped is fine.
   */
  kill: (container: string) =>
    `docker update --restart=no ${q(container)} >/dev/null && { docker kill ${q(container)} >/dev/null 2>&1 || [ "$(docker inspect --format '{{.State.Running}}' ${q(container)})" = false ]; }`,

  /** Every container (running or not) mounting a volume: name and its com.ems.system label, tab-separated. */
  volumeHolders: (volume: string) => volumeHoldersCommand(volume),

  /** Copies an old container's files out of its layer into a host folder (components/scripts/copy-uploads.sh on stdin). */
  copyUploads: (container: string, src: string, dest: string) => ({
    command: `sh -s -- ${q(container)} ${q(src)} ${q(dest)}`,
    input: readScript("copy-uploads.sh"),
  }),

  /** psql as the superuser in a PostgreSQL container, the SQL on stdin (how passwords travel). */
  psqlStdin: (container: string, user: string) =>
    `docker exec -i ${q(container)} psql -X -q -v ON_ERROR_STOP=1 -U ${q(user)} -d postgres`,

  /** `running restarting restartCount` of a container. */
  runState: (container: string) =>
    `docker inspect --format '{{.State.Running}} {{.State.Restarting}} {{.RestartCount}}' ${q(container)}`,

  /** The client sessions of a PostgreSQL server, `role database` a line. */
  sessions: (container: string, user: string) => sessionsIn(q(container), user),
  /** The same in the container a shell word finds (the running task of a Swarm service: swarmTaskContainer). */
  sessionsIn: (containerWord: string, user: string) => sessionsIn(containerWord, user),

  /**
   * The exact row count of every table of every database, `database.schema.table count` a line, sorted: the gate
   * compares the new server's with the old one's.
   */
  rowCounts: (container: string, user: string) => `docker exec ${q(container)} sh -c ${q(ROW_COUNTS)} sh ${q(user)}`,

  /** The cut-over's journal on the host (JSON on stdin), written whole then renamed: mode 600. */
  writeJournal: (file: string) =>
    `set -eu; umask 077; f=${q(file)}; mkdir -p "$(dirname "$f")"; cat >"$f.tmp"; chmod 600 "$f.tmp"; mv "$f.tmp" "$f"`,
  /** The journal, or nothing when there is none. */
  readJournal: (file: string) => `f=${q(file)}; [ ! -e "$f" ] || cat "$f"`,
  removeJournal: (file: string) => `rm -f ${q(file)}`,

  /** Removes a stopped container (never a running one: no -f), not its volumes. */
  removeStopped: (container: string) => `docker rm ${q(container)} >/dev/null`,

  /** Stops one of the stack's containers (kept, not removed). */
  stopNew: (container: string) => `docker stop -t 30 ${q(container)} >/dev/null`,

  /** Starts a container again with its original restart policy. */
  start: (container: string, policy: string) =>
    `docker update --restart=${q(policy)} ${q(container)} >/dev/null && docker start ${q(container)} >/dev/null`,

  /** Waits up to `seconds` for PostgreSQL in the container to accept connections. */
  waitPostgres: (container: string, user: string, seconds: number) =>
    `i=0; until docker exec ${q(container)} pg_isready -q -U ${q(user)} -d postgres; do i=$((i + 1)); [ "$i" -lt ${seconds} ] || exit 1; sleep 1; done`,

  /** Running containers that mount a volume, one name a line. */
  usingVolume: (volume: string) => `docker ps --filter ${q(`volume=${volume}`)} --format '{{.Names}}'`,

  /** Running containers publishing a host port (80/443: the old Traefik needs them back). */
  publishing: (port: number) => `docker ps --filter publish=${port} --format '{{.Names}}'`,

  /** Running containers with a label (`key=value`), one name a line. */
  withLabel: (label: string) => `docker ps --filter ${q(`label=${label}`)} --format '{{.Names}}'`,

  /**
   * One health request through the proxy: HTTPS to `host` on `address:port` (curl --resolve, so the
   * router and TLS see the real host name), the API key read from stdin as a header (`-H @-`), prints
   * the status code. `insecure` skips certificate verification (the rehearsal's self-signed proxy).
   */
  health: (gate: { host: string; address: string; port: number; path: string; insecure: boolean }) =>
    [
      "curl -sS -o /dev/null -w '%{http_code}' --max-time 5",
      ...(gate.insecure ? ["-k"] : []),
      "--resolve",
      q(`${gate.host}:${gate.port}:${gate.address}`),
      "-H @-",
      q(`https://${gate.host}:${gate.port}${gate.path}`),
    ].join(" "),

  /** Replaces the crontab with `input` (stdin). */
  writeCrontab: "crontab -",
};

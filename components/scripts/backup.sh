#!/bin/sh
# backup.sh - dump every PostgreSQL database plus the globals (roles, tablespaces), then apply retention.
#
# Usage:
#   backup.sh                    dump everything into BACKUP_DIR, then apply retention
#   backup.sh --retention-only   only apply retention to BACKUP_DIR (no Postgres needed)
#
# Environment:
#   BACKUP_DIR   target folder (required; created 0700 if missing)
#   KEEP_DAILY   per database: keep the newest file of each of the newest N days that have one (default 14)
#   KEEP_WEEKLY  per database: keep the newest file of each of the newest N ISO weeks that have one (default 8)
#   PG_EXEC      command prefix the Postgres client tools run through, word-split, e.g.
#                "docker exec -i -e PGUSER=ems ems_system-postgres" (empty: run locally with PGHOST/PGPORT/PGUSER)
#   BACKUP_NOW   timestamp override, format YYYYmmddTHHMMSSZ (default: now, UTC)
#   OFFSITE_ENV  when set, the run ends with the off-site copy (offsite.sh backup, same folder; its other
#                variables pass through): it runs after the local dumps and their retention, which are made
#                whatever happens to it, and its failure fails the run
#
# Files: BACKUP_DIR/<db>_<ts>.dump (pg_dump -Fc) and BACKUP_DIR/globals_<ts>.sql (pg_dumpall --globals-only),
# and BACKUP_DIR/<db>_<ts>.rows: each table's row count (`"schema"."table"<TAB>count`), counted in the very
# snapshot pg_dump dumped (pg_export_snapshot), so a restore can be checked against its source.
# Each dump is written to BACKUP_DIR/.<name>.partial and renamed only when the dump command succeeded, so a
# failed or interrupted dump never leaves a file under a final name. Retention reads the timestamp in the
# file name (never mtime) and never deletes the newest file of a database. It is skipped when a dump failed.
# Exit status: 0 ok, 1 a dump failed, 2 bad usage/configuration.
set -eu

KEEP_DAILY=${KEEP_DAILY:-14}
KEEP_WEEKLY=${KEEP_WEEKLY:-8}
PG_EXEC=${PG_EXEC:-}
TS_GLOB='[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z'
TAB=$(printf '\t')
LC_ALL=C
export LC_ALL

log() { printf 'backup: %s\n' "$*"; }
err() { printf 'backup: %s\n' "$*" >&2; }
usage_error() { err "$*"; exit 2; }

is_count() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
}

# Runs a Postgres client tool, through PG_EXEC when set (word-split on purpose: it is a command prefix).
pg() {
  # shellcheck disable=SC2086
  $PG_EXEC "$@"
}

PARTIAL=''
ERRFILE=''
COUNTER=''
cleanup() {
  if [ -n "$PARTIAL" ]; then rm -f "$PARTIAL"; fi
  if [ -n "$ERRFILE" ]; then rm -f "$ERRFILE"; fi
  if [ -n "$COUNTER" ]; then rm -rf "$COUNTER"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# retention DIR: deletes the dumps that neither the daily nor the weekly rule keeps.
# Files are grouped by "<prefix>.<ext>" (one group per database, one for globals_*.sql), sorted newest
# first by the timestamp in their name. A file is kept when it is the newest of its group, or the newest
# of its day among the newest KEEP_DAILY distinct days, or the newest of its ISO week (Monday..Sunday, UTC)
# among the newest KEEP_WEEKLY distinct weeks. Files not named <prefix>_<ts>.dump|.sql are never touched.
retention() {
  dir=$1
  total=0
  deleted=0
  list=''
  # TS_GLOB is a pattern and must stay unquoted; it holds no blanks.
  # shellcheck disable=SC2231
  for f in "$dir"/*_$TS_GLOB.dump "$dir"/*_$TS_GLOB.sql "$dir"/*_$TS_GLOB.rows; do
    [ -f "$f" ] || continue
    name=${f##*/}
    ext=${name##*.}
    stem=${name%.*}
    ts=${stem##*_}
    prefix=${stem%_*}
    list="$list$prefix.$ext$TAB$ts$TAB$name
"
    total=$((total + 1))
  done
  [ "$total" -gt 0 ] || { log "retention: no dumps in $dir"; return 0; }

  doomed=$(printf '%s' "$list" | sort -t "$TAB" -k1,1 -k2,2r | awk -F "$TAB" \
    -v keep_daily="$KEEP_DAILY" -v keep_weekly="$KEEP_WEEKLY" '
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, days_from_civil).
    function days(y, m, d,   era, yoe, doy, doe) {
      if (m <= 2) y -= 1
      era = int((y >= 0 ? y : y - 399) / 400)
      yoe = y - era * 400
      doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
      doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
      return era * 146097 + doe - 719468
    }
    {
      key = $1; ts = $2; name = $3
      if (key != group) { group = key; ndays = 0; nweeks = 0; lastday = ""; lastweek = ""; keep = 1 }
      else keep = 0
      day = substr(ts, 1, 8)
      dn = days(substr(ts, 1, 4) + 0, substr(ts, 5, 2) + 0, substr(ts, 7, 2) + 0)
      week = dn - ((dn % 7 + 7 + 3) % 7)   # the Monday starting its ISO week (1970-01-01 was a Thursday)
      if (day != lastday) { lastday = day; ndays++; if (ndays <= keep_daily) keep = 1 }
      if (week != lastweek) { lastweek = week; nweeks++; if (nweeks <= keep_weekly) keep = 1 }
      if (!keep) print name
    }')

  while IFS= read -r name; do
    [ -n "$name" ] || continue
    rm -f "$dir/$name"
    log "retention: deleted $dir/$name"
    deleted=$((deleted + 1))
  done <<EOF
$doomed
EOF
  log "retention: kept $((total - deleted)), deleted $deleted in $dir (KEEP_DAILY=$KEEP_DAILY KEEP_WEEKLY=$KEEP_WEEKLY)"
}

# dump_to FINAL LABEL COMMAND...: runs COMMAND (through PG_EXEC) with stdout into a partial file next to
# FINAL, and renames it to FINAL only when COMMAND exited 0 (and, for .dump, the file is a custom archive).
dump_to() {
  final=$1
  label=$2
  shift 2
  PARTIAL="$BACKUP_DIR/.${final##*/}.partial"
  if pg "$@" </dev/null >"$PARTIAL" 2>"$ERRFILE"; then
    status=0
  else
    status=$?
  fi
  reason=$(tr '\n' ' ' <"$ERRFILE" | sed 's/  */ /g; s/ $//')
  if [ "$status" -eq 0 ] && [ "${final##*.}" = dump ] && [ "$(dd if="$PARTIAL" bs=5 count=1 2>/dev/null)" != PGDMP ]; then
    status=1
    reason="output is not a pg_dump custom-format archive${reason:+: $reason}"
  fi
  if [ "$status" -ne 0 ]; then
    rm -f "$PARTIAL"
    PARTIAL=''
    err "FAILED $label: $1 exited with status $status${reason:+: $reason}"
    return 1
  fi
  # Warnings of a successful dump still deserve to be seen.
  if [ -n "$reason" ]; then err "$label: $reason"; fi
  mv -f "$PARTIAL" "$final"
  PARTIAL=''
  log "wrote $final ($(($(wc -c <"$final"))) bytes)"
}

# Each ordinary table of the database with its row count, one `"schema"."table"<TAB>count` line each.
ROW_COUNTS_SQL="SELECT format('%I.%I', n.nspname, c.relname) || E'\\t' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1;"

# dump_db DB: pg_dump -Fc of DB into <db>_<ts>.dump, and its row counts into <db>_<ts>.rows, both from one
# snapshot: a psql session holds a REPEATABLE READ transaction, exports its snapshot, pg_dump dumps that
# snapshot (--snapshot), then the same session counts the rows. The counts are written only with the dump.
dump_db() {
  db=$1
  COUNTER=$(mktemp -d)
  mkfifo "$COUNTER/in"
  pg psql -X -Atq -v ON_ERROR_STOP=1 -d "$db" <"$COUNTER/in" >"$COUNTER/out" 2>"$COUNTER/err" &
  counter_pid=$!
  exec 3>"$COUNTER/in"
  # A counting psql that died must fail the dump, not kill the run with SIGPIPE; only while writing to it (the
  # tools started meanwhile must keep the default SIGPIPE: they inherit an ignored one).
  trap '' PIPE
  printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" "SELECT pg_export_snapshot();" >&3 || true
  trap - PIPE
  n=0
  while [ ! -s "$COUNTER/out" ] && kill -0 "$counter_pid" 2>/dev/null && [ "$n" -lt 600 ]; do
    sleep 0.1
    n=$((n + 1))
  done
  snapshot=$(head -n 1 "$COUNTER/out")
  if [ -z "$snapshot" ]; then
    exec 3>&-
    wait "$counter_pid" || true
    err "FAILED $db: cannot open a snapshot to dump and count in: $(tr '\n' ' ' <"$COUNTER/err")"
    rm -rf "$COUNTER"
    COUNTER=''
    return 1
  fi
  dumped=0
  dump_to "$BACKUP_DIR/${db}_$ts.dump" "$db" pg_dump -Fc --snapshot="$snapshot" -d "$db" || dumped=1
  trap '' PIPE
  printf '%s\n' "$ROW_COUNTS_SQL" "COMMIT;" >&3 || true
  trap - PIPE
  exec 3>&-
  counted=0
  wait "$counter_pid" || counted=1
  if [ "$dumped" -eq 0 ] && [ "$counted" -eq 0 ]; then
    tail -n +2 "$COUNTER/out" >"$BACKUP_DIR/.${db}_$ts.rows.partial"
    mv -f "$BACKUP_DIR/.${db}_$ts.rows.partial" "$BACKUP_DIR/${db}_$ts.rows"
  elif [ "$dumped" -eq 0 ]; then
    err "FAILED $db: the dump was written but its rows could not be counted: $(tr '\n' ' ' <"$COUNTER/err")"
    dumped=1
  fi
  rm -rf "$COUNTER"
  COUNTER=''
  return "$dumped"
}

# --- configuration ---------------------------------------------------------------------------------
mode=backup
case ${1:-} in
  '') ;;
  --retention-only) mode=retention ;;
  *) usage_error "usage: backup.sh [--retention-only] (got: $*)" ;;
esac
[ -n "${BACKUP_DIR:-}" ] || usage_error "BACKUP_DIR is not set"
is_count "$KEEP_DAILY" || usage_error "KEEP_DAILY must be a non-negative integer (got: $KEEP_DAILY)"
is_count "$KEEP_WEEKLY" || usage_error "KEEP_WEEKLY must be a non-negative integer (got: $KEEP_WEEKLY)"

if [ "$mode" = retention ]; then
  [ -d "$BACKUP_DIR" ] || usage_error "BACKUP_DIR $BACKUP_DIR is not a folder"
  retention "$BACKUP_DIR"
  exit 0
fi

ts=${BACKUP_NOW:-$(date -u +%Y%m%dT%H%M%SZ)}
# shellcheck disable=SC2254
case $ts in
  $TS_GLOB) ;;
  *) usage_error "BACKUP_NOW must look like 20250131T030000Z (got: $ts)" ;;
esac

umask 077
mkdir -p "$BACKUP_DIR"
ERRFILE=$(mktemp)
# Leftovers of a run killed with SIGKILL (no trap ran) are hidden dot files: drop them after a day.
find "$BACKUP_DIR/." ! -name . -prune -type f -name '.*.partial' -mtime +0 -exec rm -f {} +

# --- dumps -----------------------------------------------------------------------------------------
if ! dbs=$(pg psql -X -Atq -d postgres -c \
  "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn AND datname <> 'postgres' ORDER BY datname" \
  </dev/null 2>"$ERRFILE"); then
  err "FAILED listing databases: $(tr '\n' ' ' <"$ERRFILE")"
  exit 1
fi

failed=0
dump_to "$BACKUP_DIR/globals_$ts.sql" globals pg_dumpall --globals-only || failed=$((failed + 1))
while IFS= read -r db; do
  [ -n "$db" ] || continue
  case $db in
    .* | *[!A-Za-z0-9_.-]*)
      err "FAILED $db: name is not usable as a file name, not dumped"
      failed=$((failed + 1))
      continue
      ;;
  esac
  dump_db "$db" || failed=$((failed + 1))
done <<EOF
$dbs
EOF

if [ "$failed" -gt 0 ]; then
  err "$failed dump(s) failed; retention skipped, older dumps kept"
  if [ -n "${OFFSITE_ENV:-}" ]; then err "FAILED off-site: not attempted, the dumps failed"; fi
  exit 1
fi

retention "$BACKUP_DIR"

if [ -n "${OFFSITE_ENV:-}" ]; then
  here=$(cd "$(dirname "$0")" && pwd -P)
  BACKUP_DIR=$BACKUP_DIR sh "$here/offsite.sh" backup "$ts"
fi

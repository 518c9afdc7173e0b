#!/bin/sh
# restore.sh - restore one file written by backup.sh. No prompt: the caller asks for confirmation.
#
# Usage:
#   restore.sh FILE [DATABASE]
#     FILE      <db>_<ts>.dump (pg_dump -Fc archive) or globals_<ts>.sql (pg_dumpall --globals-only),
#               or a gzipped plain SQL dump (.sql.gz): one database (`pg_dump | gzip`, the old compose
#               cron's ems_<date>.sql.gz) or the whole server (`pg_dumpall | gzip`, what `npm run migrate` writes)
#     DATABASE  target database of a .dump (default: the <db> part of FILE's name) or of a one-database
#               .sql.gz (required: the old names do not say it, ems_<date> holds ems_production).
#               Ignored for .sql and for a server dump.
#
# Environment:
#   PG_EXEC   command prefix the Postgres client tools run through, word-split, e.g.
#             "docker exec -i -e PGUSER=ems ems_system-postgres" (empty: run locally with PGHOST/PGPORT/PGUSER).
#             FILE is read here and streamed on stdin, so it need not exist inside the container.
#
# A .dump is restored with `pg_restore --clean --if-exists --single-transaction -d DATABASE`
# (DATABASE is created when missing; the restore is all-or-nothing). Objects keep their owners (a service's
# tables stay its role's, so the API can still use them). Restore the globals first when the roles the dump
# names as owners or grants privileges to no longer exist.
# A .sql is run with psql against the `postgres` database; "already exists" errors (e.g. CREATE ROLE of
# a role that is there) are expected and reported as a note, any other error fails the restore.
# A one-database .sql.gz runs with psql ON_ERROR_STOP in a single transaction into DATABASE (created when
# missing): all or nothing, so it must go into an empty database (its CREATE TABLEs fail otherwise).
# A server .sql.gz (it starts with "PostgreSQL database cluster dump") is for an empty server (a new
# volume): refused when any database but postgres/template0/template1 exists; then applied like a .sql.
# Every plain SQL file (.sql, .sql.gz) is read first: a psql meta-command outside COPY data (`\!` runs a shell
# command, `\o |cmd`, `\i`, `\copy ... program`, ...) refuses the file, since psql runs as root in the Postgres
# container. pg_dump and pg_dumpall write none but `\connect <db>`, `\restrict <key>` and `\unrestrict <key>`.
# Exit status: 0 ok, 1 restore failed, 2 bad usage / missing or unknown file / a meta-command in a plain dump.
set -eu

PG_EXEC=${PG_EXEC:-}
LC_ALL=C
export LC_ALL

log() { printf 'restore: %s\n' "$*"; }
err() { printf 'restore: %s\n' "$*" >&2; }

# Runs a Postgres client tool, through PG_EXEC when set (word-split on purpose: it is a command prefix).
pg() {
  # shellcheck disable=SC2086
  $PG_EXEC "$@"
}

ERRFILE=''
cleanup() {
  if [ -n "$ERRFILE" ]; then rm -f "$ERRFILE"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
  err "usage: restore.sh FILE [DATABASE]"
  exit 2
fi
file=$1
if [ ! -e "$file" ]; then
  err "refusing: $file does not exist"
  exit 2
fi
if [ ! -f "$file" ] || [ ! -r "$file" ]; then
  err "refusing: $file is not a readable regular file"
  exit 2
fi
name=${file##*/}
ERRFILE=$(mktemp)

if [ "$(dd if="$file" bs=5 count=1 2>/dev/null)" = PGDMP ]; then
  kind=archive
else
  case $name in
    *.sql) kind=sql ;;
    *.sql.gz) kind=gz ;;
    *)
      err "refusing: $file is neither a pg_dump custom-format archive nor a .sql file (nor a gzipped .sql.gz dump)"
      exit 2
      ;;
  esac
fi

if [ "$kind" = gz ]; then
  if ! gzip -t "$file" 2>"$ERRFILE"; then
    err "refusing: $file is not a complete gzip file: $(tr '\n' ' ' <"$ERRFILE")"
    exit 2
  fi
  if gzip -dc "$file" 2>/dev/null | head -n 20 | grep -q 'PostgreSQL database cluster dump'; then
    kind=cluster
  fi
fi

# meta_commands: reads SQL on stdin and prints `LINE: TEXT` of the first psql meta-command (a backslash outside
# string literals, quoted identifiers, dollar quotes, comments and COPY data) that pg_dump/pg_dumpall do not write.
meta_commands() {
  awk '
    function allowed(l) {
      return l ~ /^\\connect ([A-Za-z0-9_]+|-reuse-previous=on "dbname=\047[^\047"\\]*\047")$/ ||
        l ~ /^\\(un)?restrict [A-Za-z0-9]+$/
    }
    BEGIN { state = "sql"; depth = 0; tag = "" }
    {
      line = $0
      if (state == "copy") { if (line == "\\.") state = "sql"; next }
      if (state == "sql" && line ~ /^COPY .* FROM stdin;$/) { state = "copy"; next }
      # Fast path: nothing that opens a string, comment or meta-command, and not inside one.
      if (state == "sql" && line !~ /[\\\047"$\/-]/) next
      n = length(line); i = 1
      while (i <= n) {
        c = substr(line, i, 1); two = substr(line, i, 2)
        if (state == "sql") {
          if (two == "--") break
          if (two == "/*") { state = "comment"; depth = 1; i += 2; continue }
          if (c == "\047") { state = (i > 1 && substr(line, i - 1, 1) ~ /[Ee]/ && (i == 2 || substr(line, i - 2, 1) !~ /[A-Za-z0-9_]/)) ? "estr" : "str"; i++; continue }
          if (c == "\"") { state = "ident"; i++; continue }
          if (c == "$" && (i == 1 || substr(line, i - 1, 1) !~ /[A-Za-z0-9_]/) && match(substr(line, i), /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/)) {
            tag = substr(line, i, RLENGTH); state = "dollar"; i += RLENGTH; continue
          }
          if (c == "\\") {
            if (i == 1 && allowed(line)) break
            print NR ": " line; exit 1
          }
          i++; continue
        }
        if (state == "comment") {
          if (two == "/*") { depth++; i += 2; continue }
          if (two == "*/") { depth--; i += 2; if (depth == 0) state = "sql"; continue }
          i++; continue
        }
        if (state == "str") { if (c == "\047") state = "sql"; i++; continue }
        if (state == "estr") { if (c == "\\") { i += 2; continue } if (c == "\047") state = "sql"; i++; continue }
        if (state == "ident") { if (c == "\"") state = "sql"; i++; continue }
        if (state == "dollar") { if (substr(line, i, length(tag)) == tag) { state = "sql"; i += length(tag); continue } i++; continue }
      }
    }
  '
}

# refuse_meta_commands: stops (exit 2) when the plain SQL on stdin holds a meta-command, naming its line.
refuse_meta_commands() {
  if ! found=$(meta_commands); then
    err "refusing: $file has the psql meta-command at line ${found%%:*} (${found#*: }) outside COPY data; a dump from pg_dump or pg_dumpall has none but \\connect, \\restrict and \\unrestrict, and a meta-command such as \\! would run a shell command as root in the Postgres container"
    exit 2
  fi
}

case $kind in
  sql) refuse_meta_commands <"$file" ;;
  gz | cluster) gzip -dc "$file" | refuse_meta_commands ;;
esac

# apply_sql FAILED_NOTE WHAT EXISTED_NOTE: runs the SQL on stdin against the server with ON_ERROR_STOP off, since
# a globals or whole-server dump starts with CREATE ROLE of roles that usually exist: those "already exists"
# errors are counted, any other error fails.
apply_sql() {
  if ! pg psql -X -q -d postgres >/dev/null 2>"$ERRFILE"; then
    err "FAILED $file: psql could not run it: $(tr '\n' ' ' <"$ERRFILE")"
    return 1
  fi
  existed=$(grep -c 'ERROR: .* already exists' "$ERRFILE" || true)
  if grep 'ERROR:' "$ERRFILE" | grep -v 'ERROR: .* already exists' >&2; then
    err "FAILED $file: the errors above happened$1"
    return 1
  fi
  log "restored $file into the server ($2)"
  if [ "$existed" -gt 0 ]; then log "note: $existed object(s) already existed$3 and were altered in place"; fi
}

if [ "$kind" = cluster ]; then
  if ! others=$(pg psql -X -Atq -v ON_ERROR_STOP=1 -d postgres 2>"$ERRFILE" <<'SQL'
SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1');
SQL
  ); then
    err "FAILED $file: cannot query the server: $(tr '\n' ' ' <"$ERRFILE")"
    exit 1
  fi
  if [ -n "$others" ]; then
    err "refusing: $file is a whole-server dump (pg_dumpall) and this server already has the databases $others: restore it into a new, empty volume"
    exit 2
  fi
  gzip -dc "$file" | apply_sql "" "roles and every database" " (e.g. the superuser role)"
  exit $?
fi

if [ "$kind" = sql ]; then
  apply_sql " (every other statement was applied)" "roles, tablespaces and their settings" "" <"$file"
  exit $?
fi

if [ $# -eq 2 ]; then
  db=$2
elif [ "$kind" = gz ]; then
  err "usage: $name is a one-database dump that does not say which database it holds; pass it: restore.sh FILE DATABASE"
  exit 2
else
  stem=${name%.dump}
  db=${stem%_*}
  if [ "$stem" = "$name" ] || [ "$db" = "$stem" ] || [ -z "$db" ]; then
    err "usage: cannot tell the database from the file name $name; pass it: restore.sh FILE DATABASE"
    exit 2
  fi
fi

if ! exists=$(pg psql -X -Atq -v ON_ERROR_STOP=1 -v db="$db" -d postgres 2>"$ERRFILE" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db';
SQL
); then
  err "FAILED $file into $db: cannot query the server: $(tr '\n' ' ' <"$ERRFILE")"
  exit 1
fi
if [ "$exists" != 1 ]; then
  if ! pg psql -X -q -v ON_ERROR_STOP=1 -v db="$db" -d postgres >/dev/null 2>"$ERRFILE" <<'SQL'
CREATE DATABASE :"db";
SQL
  then
    err "FAILED $file into $db: cannot create the database: $(tr '\n' ' ' <"$ERRFILE")"
    exit 1
  fi
  log "created database $db"
fi

if [ "$kind" = gz ]; then
  if ! gzip -dc "$file" | pg psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$db" >/dev/null 2>"$ERRFILE"; then
    err "FAILED $file into $db: $(grep -m 3 'ERROR' "$ERRFILE" | tr '\n' ' ')(nothing was changed: single transaction; restore into an empty database)"
    exit 1
  fi
  log "restored $file into $db"
  exit 0
fi

# Streamed through a pipe (not a seekable file), exactly as it reaches pg_restore through `docker exec -i`
# or ssh, so tests run without PG_EXEC exercise the same path.
# shellcheck disable=SC2002
if ! cat "$file" | pg pg_restore --clean --if-exists --single-transaction -d "$db"; then
  err "FAILED $file into $db: pg_restore failed, nothing was changed (single transaction)"
  exit 1
fi
log "restored $file into $db"

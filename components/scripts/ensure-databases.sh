#!/bin/sh
# ensure-databases.sh - create the missing databases and optionally rotate the superuser's password.
#
# Meant to run inside the Postgres container, fed on stdin:
#   docker exec -i -e DATABASES="ems sms" -e NEW_PASSWORD ems_system-postgres sh -s < ensure-databases.sh
# (`-e NEW_PASSWORD` without a value passes it from the caller's environment: it never appears in a
# command line). It connects with psql over the local socket (or wherever PGHOST/PGPORT point).
# Every psql call has its own stdin (a here-document): under `sh -s` the script itself is stdin.
#
# Environment:
#   DATABASES      space-separated database names to create when missing
#   POSTGRES_USER  role to connect as and whose password NEW_PASSWORD sets (set in the official image;
#                  default: PGUSER, else postgres)
#   NEW_PASSWORD   optional; when set, `ALTER ROLE <POSTGRES_USER> PASSWORD ...` (read by psql from the
#                  environment with \getenv, never echoed, statement logging off for that session)
#
# Output: "ensure-databases: created <db>" or "ensure-databases: <db> exists" per database, and
# "ensure-databases: password of role <role> updated". Exit status: 0 ok, 1 failure. Needs psql >= 15.
set -eu

DATABASES=${DATABASES:-}
POSTGRES_USER=${POSTGRES_USER:-${PGUSER:-postgres}}

log() { printf 'ensure-databases: %s\n' "$*"; }
fail() {
  printf 'ensure-databases: FAILED %s\n' "$*" >&2
  exit 1
}

q() {
  psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres "$@"
}

set -f # names are split on blanks, never globbed
for db in $DATABASES; do
  if ! exists=$(q -At -v db="$db" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db';
SQL
  ); then
    fail "$db: cannot query the server"
  fi
  if [ "$exists" = 1 ]; then
    log "$db exists"
    continue
  fi
  q -v db="$db" <<'SQL' || fail "$db: CREATE DATABASE failed"
CREATE DATABASE :"db";
SQL
  log "created $db"
done
set +f

if [ -n "${NEW_PASSWORD:-}" ]; then
  # Nothing here prints the statement: -q hides the command tag, VERBOSITY terse drops the LINE/context
  # of an error, and the session stops logging statements so the password never reaches the server log.
  q -v role="$POSTGRES_USER" <<'SQL' || fail "password of role $POSTGRES_USER not updated"
\set VERBOSITY terse
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\getenv new_password NEW_PASSWORD
ALTER ROLE :"role" PASSWORD :'new_password';
\unset new_password
SQL
  log "password of role $POSTGRES_USER updated"
fi

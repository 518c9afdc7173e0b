#!/bin/sh
# ensure-databases.sh - one login role and one database per API service, and the passwords the stack holds.
#
# Meant to run inside the Postgres container, fed on stdin after the settings (the program writes them as
# shell assignments in front of this script, so no password is ever on a command line):
#   docker exec -i ems_system-postgres sh -s < (settings + ensure-databases.sh)
# It connects with psql over the local socket as the superuser. Every psql call has its own stdin (a
# here-document): under `sh -s` the script itself is stdin.
#
# Environment:
#   POSTGRES_USER          the superuser to connect as (default: PGUSER, else postgres)
#   SUPERUSER_PASSWORD     optional; when set, the superuser's password is set to it
#   SERVICE_ROLES          space-separated role:database pairs, e.g. "ems_user:ems_production sms_user:sms_production"
#   ROLE_PASSWORD_<role>   the password of each role (required for every role of SERVICE_ROLES)
#
# For each pair: the role is created (LOGIN, no superuser, no CREATEDB/CREATEROLE) when missing, and given its
# password (an existing role loses superuser, CREATEDB, CREATEROLE and REPLICATION); the database is created
# owned by the role when missing (an existing one keeps its rows and grants and is given to the role); CONNECT and TEMPORARY on it are revoked from PUBLIC and CONNECT granted to the role, so a service
# cannot connect to another service's database. Passwords are read by psql with \getenv, never echoed, and
# statement logging is off for those sessions.
# Output: one "ensure-databases: ..." line per step. Exit status: 0 ok, 1 failure. Needs psql >= 15.
set -eu

SERVICE_ROLES=${SERVICE_ROLES:-}
POSTGRES_USER=${POSTGRES_USER:-${PGUSER:-postgres}}

log() { printf 'ensure-databases: %s\n' "$*"; }
fail() {
  printf 'ensure-databases: FAILED %s\n' "$*" >&2
  exit 1
}

q() {
  psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres "$@"
}

# set_password ROLE ENV_NAME: ALTER ROLE ROLE PASSWORD <value of ENV_NAME>, without printing it anywhere.
set_password() {
  q -v role="$1" -v var="$2" <<'SQL'
\set VERBOSITY terse
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\getenv new_password :var
ALTER ROLE :"role" WITH LOGIN PASSWORD :'new_password';
\unset new_password
SQL
}

if [ -n "${SUPERUSER_PASSWORD:-}" ]; then
  set_password "$POSTGRES_USER" SUPERUSER_PASSWORD || fail "password of role $POSTGRES_USER not updated"
  log "password of role $POSTGRES_USER updated"
fi

# is_identifier WORD: a lower-case SQL identifier (what the stack's config allows), at most 63 bytes.
is_identifier() {
  case "$1" in
    "" | [!a-z_]* | *[!a-z0-9_]*) return 1 ;;
  esac
  [ "${#1}" -le 63 ]
}

set -f # pairs are split on blanks, never globbed
# Every pair and password is checked before anything changes: bad input leaves the server as it was.
for pair in $SERVICE_ROLES; do
  role=${pair%%:*}
  db=${pair#*:}
  if [ "$role" = "$pair" ] || ! is_identifier "$role" || ! is_identifier "$db"; then
    fail "$pair: expected role:database (lower-case SQL identifiers)"
  fi
  [ "$role" != "$POSTGRES_USER" ] || fail "$role: a service role cannot be the superuser $POSTGRES_USER"
  var="ROLE_PASSWORD_$role"
  eval "password=\${$var:-}"
  # shellcheck disable=SC2154 # set by the eval above
  [ -n "$password" ] || fail "$role: $var is not set"
done

for pair in $SERVICE_ROLES; do
  role=${pair%%:*}
  db=${pair#*:}
  var="ROLE_PASSWORD_$role"

  if ! role_exists=$(q -At -v role="$role" <<'SQL'
SELECT 1 FROM pg_roles WHERE rolname = :'role';
SQL
  ); then
    fail "$role: cannot query the server"
  fi
  if [ "$role_exists" = 1 ]; then
    # A role made by hand (today's VPS) may have more rights than a service needs: take them away.
    q -v role="$role" <<'SQL' || fail "$role: ALTER ROLE failed"
ALTER ROLE :"role" NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
SQL
    log "role $role exists"
  else
    q -v role="$role" <<'SQL' || fail "$role: CREATE ROLE failed"
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
SQL
    log "created role $role"
  fi
  set_password "$role" "$var" || fail "password of role $role not updated"
  log "password of role $role updated"

  db_exists=$(q -At -v db="$db" <<'SQL'
SELECT 1 FROM pg_database WHERE datname = :'db';
SQL
  ) || fail "$db: cannot query the server"
  if [ "$db_exists" = 1 ]; then
    # An existing database (today's VPS: owned by the superuser, the role with GRANT ALL) keeps its rows and
    # grants; the service's role becomes its owner, as for one created here.
    q -v db="$db" -v role="$role" <<'SQL' || fail "$db: ALTER DATABASE OWNER failed"
ALTER DATABASE :"db" OWNER TO :"role";
SQL
    log "$db exists, owned by $role"
  else
    q -v db="$db" -v role="$role" <<'SQL' || fail "$db: CREATE DATABASE failed"
CREATE DATABASE :"db" OWNER :"role";
SQL
    log "created $db owned by $role"
  fi
  q -v db="$db" -v role="$role" <<'SQL' || fail "$db: privileges not set"
REVOKE CONNECT, TEMPORARY ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
SQL
  log "$db: only $role (and the superuser) may connect"
done
set +f

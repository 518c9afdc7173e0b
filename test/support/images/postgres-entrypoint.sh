#!/bin/sh
# Entrypoint of ems-test/postgres:15 (built by build.sh), a stand-in for the official postgres image that
# honours the same environment for what ems-infra relies on:
#   POSTGRES_USER      bootstrap superuser (default postgres)
#   POSTGRES_PASSWORD  its password (required, as in the official image)
#   POSTGRES_PASSWORD_FILE  a file holding it instead (exclusive with POSTGRES_PASSWORD; read as root,
#                      before dropping privileges, then exported as POSTGRES_PASSWORD like the official
#                      image's file_env)
#   POSTGRES_DB        database created on first start (default POSTGRES_USER), as in the official image
#   PGDATA             data directory (default /var/lib/postgresql/data)
# On an empty PGDATA: initdb (UTF8, C locale), `local all all trust`, `host all all all scram-sha-256`,
# listen_addresses = '*'. Started as root it fixes the ownership of PGDATA and re-executes itself as the
# `postgres` user (setpriv, like the official image's gosu). Anything but `postgres ...` is exec'ed as is.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    echo "entrypoint: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set (but are exclusive)" >&2
    exit 1
  fi
  [ -r "$POSTGRES_PASSWORD_FILE" ] || { echo "entrypoint: cannot read POSTGRES_PASSWORD_FILE $POSTGRES_PASSWORD_FILE" >&2; exit 1; }
  POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
  export POSTGRES_PASSWORD
  unset POSTGRES_PASSWORD_FILE
fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  exec /usr/bin/setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "entrypoint: POSTGRES_PASSWORD is not set; refusing to initialise $PGDATA" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  TZ=UTC initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  printf "\nlisten_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    db=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
    printf 'CREATE DATABASE "%s"\n' "$db" | postgres --single -D "$PGDATA" -c jit=off postgres >/dev/null
  fi
  echo "entrypoint: initialised $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
fi

exec "$@"

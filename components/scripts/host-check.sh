#!/bin/sh
# host-check.sh - read-only check of what a refresh never re-reads on the host (the host commands' effects):
# folders and their modes, this system's backup crontab entry, the database roles and owners. Changes nothing.
#
#   host-check.sh [--folder MODE:PATH]... [--cron JOB=LINE]... [--postgres CONTAINER:SUPERUSER |
#                 --postgres-service SERVICE:SUPERUSER] [--role NAME]... [--database NAME:OWNER]...
#
#   --folder MODE:PATH      PATH must be a folder; with MODE (octal, e.g. 700) its mode must be MODE
#   --cron JOB=LINE         the crontab entry tagged "# ems-infra:JOB" must exist, once, and be exactly LINE
#                           (repeatable: the backup job's and the off-site drill's)
#   --postgres C:USER       the roles and databases are read with `docker exec C psql -U USER` (needs docker)
#   --postgres-service S:USER  the same in the running task of Swarm service S on this node (found by its label)
#   --role NAME             NAME must be a login role
#   --database NAME:OWNER   database NAME must exist and be owned by OWNER
#
# Prints one line per difference ("folder /x: missing", "folder /y: mode 755, want 700",
# "cron: ems-infra:JOB entry missing", "role ems_user: missing", ...). Exit: 0 no difference, 1 differences,
# 2 bad arguments or a check that could not run (its line says why).
set -u

differences=0
failed=0
differ() { printf '%s\n' "$*"; differences=$((differences + 1)); }
cannot() { printf '%s\n' "$*"; failed=1; }
usage() { printf 'host-check: %s\n' "$*" >&2; exit 2; }

# Checks are collected first (newline-separated; values never contain a newline), then run in order.
folders=''
crons=''
pg_container=''
pg_user=''
roles=''
databases=''
nl='
'
while [ "$#" -gt 0 ]; do
  [ "$#" -ge 2 ] || usage "$1 needs a value"
  case $1 in
    --folder) case $2 in *:/*) folders="$folders$2$nl" ;; *) usage "--folder wants MODE:PATH, got $2" ;; esac ;;
    --cron) case $2 in *=*) crons="$crons$2$nl" ;; *) usage "--cron wants JOB=LINE" ;; esac ;;
    --postgres) case $2 in *:*) pg_container=${2%%:*}; pg_user=${2#*:} ;; *) usage "--postgres wants CONTAINER:USER" ;; esac ;;
    --postgres-service)
      case $2 in *:*) pg_service=${2%%:*}; pg_user=${2#*:} ;; *) usage "--postgres-service wants SERVICE:USER" ;; esac
      # The task's container name carries a task id: the service's label finds it.
      pg_container=$(docker ps -q --filter "label=com.docker.swarm.service.name=$pg_service" 2>/dev/null | head -n 1)
      [ -n "$pg_container" ] || pg_container="no-running-task-of-$pg_service-on-this-node"
      ;;
    --role) roles="$roles$2$nl" ;;
    --database) case $2 in *:*) databases="$databases$2$nl" ;; *) usage "--database wants NAME:OWNER" ;; esac ;;
    *) usage "unknown argument $1" ;;
  esac
  shift 2
done

# Octal mode without leading zeros: 0700 -> 700.
strip_zeros() { printf '%s' "$1" | sed 's/^0*\(.\)/\1/'; }

printf '%s' "$folders" | {
  while IFS= read -r spec; do
    mode=${spec%%:*}
    dir=${spec#*:}
    if [ ! -e "$dir" ]; then
      differ "folder $dir: missing"
    elif [ ! -d "$dir" ]; then
      differ "folder $dir: not a folder"
    elif [ -n "$mode" ]; then
      have=$(stat -c '%a' "$dir")
      if [ "$(strip_zeros "$have")" != "$(strip_zeros "$mode")" ]; then differ "folder $dir: mode $have, want $mode"; fi
    fi
  done
  [ "$differences" -eq 0 ] || exit 1
}
differences=$((differences + $?))

check_cron() {
  cron_job=$1
  cron_line=$2
  marker="# ems-infra:$cron_job"
  # `crontab -l` fails when there is no crontab at all: that is an empty one. A line is this job's when it ends with
  # exactly its marker (as the installers match it): `<job>-2`'s line merely contains it.
  entries=$(crontab -l 2>/dev/null | awk -v m="$marker" 'substr($0, length($0) - length(m) + 1) == m' || true)
  count=$(printf '%s' "$entries" | grep -c '' || true)
  if [ -z "$entries" ]; then
    differ "cron: ems-infra:$cron_job entry missing"
  elif [ "$count" -gt 1 ]; then
    differ "cron: ems-infra:$cron_job entry present $count times"
  elif [ "$entries" != "$cron_line" ]; then
    differ "cron: ems-infra:$cron_job entry differs: $entries"
  fi
}

if [ -n "$crons" ]; then
  if ! command -v crontab >/dev/null 2>&1; then
    cannot "cron: crontab not found on the host"
  else
    while IFS= read -r spec; do
      [ -n "$spec" ] || continue
      check_cron "${spec%%=*}" "${spec#*=}"
    done <<EOF
$crons
EOF
  fi
fi

if [ -n "$roles$databases" ]; then
  if [ -z "$pg_container" ]; then
    usage "--role and --database need --postgres"
  elif ! have_roles=$(docker exec "$pg_container" psql -X -U "$pg_user" -d postgres -Atc "SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY 1" 2>&1); then
    cannot "roles: cannot query $pg_container: $(printf '%s' "$have_roles" | tail -n 1)"
  elif ! have_dbs=$(docker exec "$pg_container" psql -X -U "$pg_user" -d postgres -Atc "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database ORDER BY 1" 2>&1); then
    cannot "databases: cannot query $pg_container: $(printf '%s' "$have_dbs" | tail -n 1)"
  else
    n=$(printf '%s' "$roles" | while IFS= read -r role; do
      printf '%s\n' "$have_roles" | grep -qxF -- "$role" || echo "role $role: missing"
    done)
    [ -z "$n" ] || { printf '%s\n' "$n"; differences=$((differences + $(printf '%s\n' "$n" | grep -c ''))); }
    n=$(printf '%s' "$databases" | while IFS= read -r spec; do
      name=${spec%%:*}
      owner=${spec#*:}
      have=$(printf '%s\n' "$have_dbs" | grep -F -- "$name:" | while IFS= read -r line; do [ "${line%%:*}" = "$name" ] && printf '%s' "${line#*:}"; done)
      if [ -z "$have" ]; then echo "database $name: missing"
      elif [ "$have" != "$owner" ]; then echo "database $name: owner $have, want $owner"
      fi
    done)
    [ -z "$n" ] || { printf '%s\n' "$n"; differences=$((differences + $(printf '%s\n' "$n" | grep -c ''))); }
  fi
fi

if [ "$failed" -ne 0 ]; then exit 2; fi
if [ "$differences" -gt 0 ]; then exit 1; fi
exit 0

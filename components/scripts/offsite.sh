#!/bin/sh
# offsite.sh - the encrypted off-site copy (restic) of a system: backup, restore, restore drill, status.
#
# Usage:
#   offsite.sh backup TS            one snapshot of this run's dumps (<db>_TS.dump, globals_TS.sql, <db>_TS.rows),
#                                   every uploads folder, the ACME store, Portainer's data and the host-side
#                                   config, then `restic forget --prune` with the keep-* policy
#   offsite.sh backup               without BACKUP_DIR (a swarm node that holds no database): the same snapshot
#                                   of this host's folders only, no dumps
#   offsite.sh restore [--snapshot ID] [--only db|uploads|acme|portainer|config] [--target DIR]
#                                   restores a snapshot (default: the newest) onto this host: the files to their
#                                   own paths (under DIR when given), the dumps through restore.sh (PG_EXEC);
#                                   a snapshot ID made by another OFFSITE_HOST is not restored here: exit 3
#   offsite.sh drill [--snapshot ID]
#                                   restores a snapshot into a scratch folder and a scratch PostgreSQL container
#                                   (DRILL_PG_IMAGE), checks every table's row count and every upload's sha256,
#                                   removes the scratch copies and records the result in OFFSITE_STATE (without
#                                   BACKUP_DIR: the uploads' checksums only, no PostgreSQL)
#   offsite.sh status               prints the recorded last-backup and last-drill lines
#
# Environment:
#   OFFSITE_ENV     mode-600 file of NAME='value' lines: RESTIC_REPOSITORY, RESTIC_PASSWORD and the target's
#                   credentials (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY...). Never on a command line.
#   OFFSITE_PATHS   file of `kind<TAB>path` lines, kind one of uploads, acme, portainer, config; a portainer
#                   path `volume:NAME` is the Docker volume's mount point
#   OFFSITE_STATE   folder the results are recorded in (last-backup, last-drill, last-drill-failed)
#   OFFSITE_HOST    restic --host of the snapshots (the system's name; on a swarm, <system>@<node address>)
#   BACKUP_DIR      the dumps' folder; the run's dumps are staged (hard links) in BACKUP_DIR/offsite. Unset: this
#                   host takes no dumps, the run's record is staged in OFFSITE_STATE/stage
#   OFFSITE_LOCK_WAIT  seconds to wait for a lock another live restic holds (several swarm nodes share one
#                   repository and restic 0.14 has no --retry-lock); default 0: fail at once
#   OFFSITE_KEEP_DAILY / _WEEKLY / _MONTHLY   retention (defaults 7 / 4 / 6)
#   PG_EXEC         restore: command prefix to the live Postgres (as for restore.sh)
#   DRILL_PG_IMAGE  drill: the image of the scratch PostgreSQL (the live server's image)
# Every failure prints one line starting with "offsite: FAILED" and exits non-zero (1 failed, 2 bad usage,
# 3 the snapshot asked for is another host's).
set -eu

LC_ALL=C
export LC_ALL
KINDS='db uploads acme portainer config'

log() { printf 'offsite: %s\n' "$*"; }
err() { printf 'offsite: %s\n' "$*" >&2; }
fail() {
  err "FAILED $*"
  exit 1
}
usage_error() {
  err "$*"
  exit 2
}

WORK=''
SCRATCH_CONTAINER=''
cleanup() {
  if [ -n "$SCRATCH_CONTAINER" ]; then docker rm -f "$SCRATCH_CONTAINER" >/dev/null 2>&1 || true; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

here=$(cd "$(dirname "$0")" && pwd -P)
WORK=$(mktemp -d)
# The log's own descriptor: restic's output is redirected to files around the functions that also log.
exec 4>&1
ERR="$WORK/restic.err"

# --- configuration -----------------------------------------------------------------------------------
load_env() {
  [ -n "${OFFSITE_ENV:-}" ] || usage_error "OFFSITE_ENV is not set"
  [ -f "$OFFSITE_ENV" ] || fail "off-site: the credentials file $OFFSITE_ENV is missing (deploy the stack again)"
  case $(stat -c %a "$OFFSITE_ENV") in
    600 | 400) ;;
    *) fail "off-site: $OFFSITE_ENV is readable by others (mode $(stat -c %a "$OFFSITE_ENV")); chmod 600 it" ;;
  esac
  set -a
  # shellcheck disable=SC1090
  . "$OFFSITE_ENV"
  set +a
  [ -n "${RESTIC_REPOSITORY:-}" ] || fail "off-site: RESTIC_REPOSITORY is not set in $OFFSITE_ENV"
  [ -n "${RESTIC_PASSWORD:-}" ] || fail "off-site: RESTIC_PASSWORD is not set in $OFFSITE_ENV"
  [ -n "${OFFSITE_HOST:-}" ] || usage_error "OFFSITE_HOST is not set"
  [ -n "${OFFSITE_STATE:-}" ] || usage_error "OFFSITE_STATE is not set"
  command -v restic >/dev/null || fail "off-site: restic is not installed on this host (apt-get install restic)"
  umask 077
  mkdir -p "$OFFSITE_STATE"
}

# Why restic failed, as one line for the log. The repository's address may hold credentials: never printed.
diagnose() {
  if grep -q 'wrong password' "$ERR"; then
    echo "wrong repository password (RESTIC_PASSWORD in $OFFSITE_ENV does not open the repository)"
  elif grep -qi 'no space left on device\|insufficient storage\|quota exceeded\|status 507' "$ERR"; then
    echo "the repository's disk is full (no space left on device)"
  elif grep -q 'repository is already locked' "$ERR"; then
    echo "the repository is locked by another restic process still running: $(grep -m 1 'lock was created at\|locked.*by' "$ERR" | sed 's/^ *//')"
  elif grep -qi 'connection refused\|no such host\|i/o timeout\|network is unreachable\|no route to host\|dial tcp\|ssh: \|connection closed\|connection reset\|unable to start the sftp session\|TLS handshake' "$ERR"; then
    echo "the repository is unreachable: $(grep -m 1 -i 'connection refused\|no such host\|timeout\|unreachable\|no route\|dial\|ssh\|closed\|reset\|sftp\|TLS' "$ERR" | sed 's|[a-z0-9+]*://[^ ]*@|<credentials>@|g' | cut -c1-200)"
  elif grep -q 'Is there a repository at the following location' "$ERR"; then
    echo "there is no repository at RESTIC_REPOSITORY (set in $OFFSITE_ENV)"
  else
    grep -v '^$' "$ERR" | grep -v -F "$RESTIC_REPOSITORY" | tail -n 3 | tr '\n' ' ' | cut -c1-300
  fi
}

# rs ARGS...: restic with its messages in $ERR (shown in full on failure, minus the repository line).
rs() {
  TZ=UTC restic --no-cache "$@" 2>"$ERR"
}

# rs_locked WHAT ARGS...: restic, and when a lock stops it, `restic unlock` (which removes stale locks only:
# a crashed run's) and one more try. A lock held by a process still running fails the run, or is waited for
# up to OFFSITE_LOCK_WAIT seconds (another node's run of the same repository).
rs_locked() {
  what=$1
  shift
  if rs "$@"; then return 0; fi
  if grep -q 'repository is already locked' "$ERR"; then
    log "$what: the repository is locked; removing stale locks (restic unlock, never a live one)" >&4
    if rs unlock; then
      if rs "$@"; then return 0; fi
    fi
    waited=0
    wait_max=${OFFSITE_LOCK_WAIT:-0}
    poll=${OFFSITE_LOCK_POLL:-10}
    while grep -q 'repository is already locked' "$ERR" && [ "$waited" -lt "$wait_max" ]; do
      [ "$waited" -gt 0 ] || log "$what: another live restic holds the lock; waiting up to ${wait_max}s" >&4
      sleep "$poll"
      waited=$((waited + poll))
      if rs "$@"; then return 0; fi
    done
  fi
  fail "off-site $what: $(diagnose)"
}

# Opens the repository, creating it when the target answers but holds none (the first run). Only the host with
# the dumps creates it: two swarm nodes' first runs at once would each write a config and key, and leave the
# repository unreadable; a node without dumps waits up to OFFSITE_LOCK_WAIT seconds for it instead.
open_repository() {
  if rs cat config >/dev/null; then return 0; fi
  if ! has_dumps; then
    waited=0
    while grep -q 'Is there a repository at the following location' "$ERR" && [ "$waited" -lt "${OFFSITE_LOCK_WAIT:-0}" ]; do
      [ "$waited" -gt 0 ] || log "no repository yet: waiting up to ${OFFSITE_LOCK_WAIT}s for the Postgres node's first run to create it"
      sleep "${OFFSITE_LOCK_POLL:-10}"
      waited=$((waited + ${OFFSITE_LOCK_POLL:-10}))
      if rs cat config >/dev/null; then return 0; fi
    done
    fail "off-site: cannot open the repository: $(diagnose) (the Postgres node's job creates it: run npm run backup first)"
  fi
  if grep -q 'Is there a repository at the following location' "$ERR" &&
    ! grep -qi 'connection refused\|no such host\|i/o timeout\|unreachable\|no route\|dial tcp\|ssh: \|connection closed' "$ERR"; then
    if rs init >/dev/null; then
      log "initialised a new repository (the first off-site backup of $OFFSITE_HOST)"
      return 0
    fi
  fi
  fail "off-site: cannot open the repository: $(diagnose)"
}

# The paths of one kind, one a line (portainer's volume:NAME resolved to its mount point).
paths_of() {
  if [ -z "${OFFSITE_PATHS:-}" ] || [ ! -f "$OFFSITE_PATHS" ]; then usage_error "OFFSITE_PATHS is not a file"; fi
  awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$OFFSITE_PATHS" | while IFS= read -r p; do
    case $p in
      volume:*) docker volume inspect --format '{{ .Mountpoint }}' "${p#volume:}" ;;
      *) printf '%s\n' "$p" ;;
    esac
  done
}

# Whether this host's job takes the database dumps (the one engine, or the swarm's Postgres node).
has_dumps() {
  [ -n "${BACKUP_DIR:-}" ]
}

stage_dir() {
  if has_dumps; then
    printf '%s/offsite\n' "$BACKUP_DIR"
  else
    [ -n "${OFFSITE_STATE:-}" ] || usage_error "OFFSITE_STATE is not set"
    printf '%s/stage\n' "$OFFSITE_STATE"
  fi
}

# check_owner SNAPSHOT: a snapshot asked for by id must be this host's (the id filter of restic 0.14 ignores
# --host): exit 3 when another host made it, so a swarm node never restores another node's folders. A swarm node
# (<system>@<address>) also takes its own paths from a snapshot of the system on one engine (<system>): the data of
# the VPS the cluster replaces.
check_owner() {
  [ "$1" != latest ] || return 0
  rs snapshots --json "$1" >"$WORK/owner.json" || fail "off-site: cannot list snapshot $1: $(diagnose)"
  owner=$(sed -n 's/.*"hostname":"\([^"]*\)".*/\1/p' "$WORK/owner.json" | head -n 1)
  [ -n "$owner" ] || fail "off-site: no snapshot $1 in the repository"
  if [ "$owner" != "$OFFSITE_HOST" ] && [ "$owner" != "${OFFSITE_HOST%@*}" ]; then
    err "snapshot $1 was made by $owner, not by this host ($OFFSITE_HOST): not restored here"
    exit 3
  fi
}

# The paths a kind covers inside a snapshot.
kind_paths() {
  if [ "$1" = db ]; then stage_dir; else paths_of "$1"; fi
}

# --- backup ------------------------------------------------------------------------------------------
# upload_checksums FILE: each upload's sha256 at backup time, for the drill, as `sha256sum -c` reads it (paths
# relative to /, as they are restored under a folder). A file whose size and mtime are the ones the last run saw
# keeps the checksum recorded then (OFFSITE_STATE/uploads.index), as restic itself decides what changed: only new
# and changed uploads are read, so the nightly cost grows with what changed, not with what exists.
upload_checksums() {
  index="$OFFSITE_STATE/uploads.index"
  [ -f "$index" ] || : >"$index"
  : >"$WORK/current"
  paths_of uploads | while IFS= read -r dir; do
    [ -d "$dir" ] || continue
    find "$dir" -type f -printf '%s\t%T@\t%p\n' >>"$WORK/current"
  done
  : >"$WORK/known"
  : >"$WORK/tohash"
  awk -F '\t' -v known="$WORK/known" -v tohash="$WORK/tohash" '
    FILENAME == ARGV[1] { sum[$1 "\t" $2 "\t" $4] = $3; next }
    { k = $1 "\t" $2 "\t" $3; if (k in sum) print $1 "\t" $2 "\t" sum[k] "\t" $3 > known; else print $3 > tohash }
  ' "$index" "$WORK/current"
  tr '\n' '\0' <"$WORK/tohash" | xargs -0 -r sha256sum >"$WORK/hashed"
  awk -F '\t' '
    FILENAME == ARGV[1] { h[substr($0, 67)] = substr($0, 1, 64); next }
    ($3 in h) { print $1 "\t" $2 "\t" h[$3] "\t" $3 }
  ' "$WORK/hashed" "$WORK/current" >>"$WORK/known"
  cp "$WORK/known" "$index.partial" && mv -f "$index.partial" "$index"
  awk -F '\t' '{ p = $4; sub(/^\//, "", p); print $3 "  " p }' "$index" | sort -k 2 >"$1"
  log "checksums: $(grep -c . "$WORK/tohash" || true) new or changed upload(s) read, $(grep -c . "$WORK/current" || true) in all"
}

do_backup() {
  ts=$1
  load_env
  stage=$(stage_dir)
  rm -rf "$stage"
  mkdir -p "$stage"
  kinds=''
  if has_dumps; then
    found=0
    for f in "$BACKUP_DIR"/*_"$ts".dump "$BACKUP_DIR"/*_"$ts".rows "$BACKUP_DIR"/globals_"$ts".sql; do
      [ -f "$f" ] || continue
      name=${f##*/}
      ln -f "$f" "$stage/${name%_"$ts".*}.${name##*.}"
      found=$((found + 1))
    done
    [ "$found" -gt 0 ] || fail "off-site: no dump of run $ts in $BACKUP_DIR"
    kinds='db'
  fi
  printf '%s\n' "$ts" >"$stage/run"

  upload_checksums "$stage/uploads.sha256"

  list="$WORK/paths"
  printf '%s\n' "$stage" >"$list"
  for kind in uploads acme portainer config; do
    n=0
    for p in $(paths_of "$kind" | tr '\n' ' '); do
      if [ -e "$p" ]; then
        printf '%s\n' "$p" >>"$list"
        n=$((n + 1))
      else
        log "note: $kind path $p does not exist, skipped"
      fi
    done
    if [ "$n" -gt 0 ]; then kinds="${kinds:+$kinds }$kind"; fi
  done
  tags="--tag ems-infra"
  for kind in $kinds; do tags="$tags --tag $kind"; done
  when=$(printf '%s' "$ts" | sed 's/^\(....\)\(..\)\(..\)T\(..\)\(..\)\(..\)Z$/\1-\2-\3 \4:\5:\6/')

  open_repository
  # shellcheck disable=SC2086
  if ! rs_locked backup backup --json --host "$OFFSITE_HOST" $tags --time "$when" \
    --exclude "$OFFSITE_ENV" --files-from-verbatim "$list" >"$WORK/backup.json"; then
    fail "off-site backup"
  fi
  summary=$(grep '"message_type":"summary"' "$WORK/backup.json" | tail -n 1)
  snapshot=$(printf '%s' "$summary" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p' | cut -c1-8)
  added=$(printf '%s' "$summary" | sed -n 's/.*"data_added":\([0-9]*\).*/\1/p')
  [ -n "$snapshot" ] || fail "off-site backup: restic printed no snapshot id"
  log "snapshot $snapshot (${kinds:-no folder}) added ${added:-0} bytes to the repository"

  rs_locked retention forget --host "$OFFSITE_HOST" --tag ems-infra --group-by host \
    --keep-daily "${OFFSITE_KEEP_DAILY:-7}" --keep-weekly "${OFFSITE_KEEP_WEEKLY:-4}" \
    --keep-monthly "${OFFSITE_KEEP_MONTHLY:-6}" --prune >"$WORK/forget.out"
  log "retention: $(grep -c '^[0-9a-f]\{8\} ' "$WORK/forget.out" || true) snapshot line(s) listed, keep-daily ${OFFSITE_KEEP_DAILY:-7} keep-weekly ${OFFSITE_KEEP_WEEKLY:-4} keep-monthly ${OFFSITE_KEEP_MONTHLY:-6}"
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$snapshot" "$ts" "${added:-0}" >"$OFFSITE_STATE/last-backup"
  log "done: snapshot $snapshot of run $ts"
}

# --- restore -----------------------------------------------------------------------------------------
# restore_files SNAPSHOT TARGET KIND...: the kinds' paths of the snapshot, under TARGET.
restore_files() {
  snap=$1
  target=$2
  shift 2
  includes=''
  for kind in "$@"; do
    for p in $(kind_paths "$kind" | tr '\n' ' '); do includes="$includes --include $p"; done
  done
  [ -n "$includes" ] || return 0
  # shellcheck disable=SC2086
  rs_locked restore restore "$snap" --host "$OFFSITE_HOST" --tag ems-infra --target "$target" $includes >/dev/null
}

# restore_dumps FOLDER: the globals, then every database dump of FOLDER (the staged run), through restore.sh.
restore_dumps() {
  dir=$1
  if [ -f "$dir/globals.sql" ]; then sh "$here/restore.sh" "$dir/globals.sql" || return 1; fi
  for f in "$dir"/*.dump; do
    [ -f "$f" ] || continue
    db=${f##*/}
    sh "$here/restore.sh" "$f" "${db%.dump}" || return 1
  done
}

do_restore() {
  snap=latest
  only=''
  target=/
  while [ $# -gt 0 ]; do
    case $1 in
      --snapshot) snap=${2:?--snapshot needs an id}; shift 2 ;;
      --only) only=${2:?--only needs a kind}; shift 2 ;;
      --target) target=${2:?--target needs a folder}; shift 2 ;;
      *) usage_error "usage: offsite.sh restore [--snapshot ID] [--only KIND] [--target DIR] (got: $1)" ;;
    esac
  done
  case $snap in *[!0-9a-f]* | '') [ "$snap" = latest ] || usage_error "--snapshot must be a snapshot id (hex) or latest" ;; esac
  if [ -n "$only" ]; then
    case " $KINDS " in *" $only "*) ;; *) usage_error "--only must be one of: $KINDS (got: $only)" ;; esac
  fi
  load_env
  rs cat config >/dev/null || fail "off-site restore: cannot open the repository: $(diagnose)"
  check_owner "$snap"
  if has_dumps; then
    kinds=${only:-$KINDS}
  else
    [ "$only" != db ] || usage_error "--only db: this host's job takes no database dumps (BACKUP_DIR is not set)"
    kinds=${only:-uploads acme portainer config}
  fi
  files=''
  for kind in $kinds; do [ "$kind" = db ] || files="$files $kind"; done
  # shellcheck disable=SC2086
  if [ -n "$files" ]; then
    restore_files "$snap" "$target" $files
    log "restored$files of snapshot $snap under $target"
  fi
  case " $kinds " in
    *" db "*)
      restore_files "$snap" "$WORK/db" db
      restore_dumps "$WORK/db$(stage_dir)" || fail "off-site restore: a dump of snapshot $snap did not restore (above)"
      log "restored the databases of snapshot $snap ($(cat "$WORK/db$(stage_dir)/run" 2>/dev/null || echo '?'))"
      ;;
  esac
}

# --- drill -------------------------------------------------------------------------------------------
scratch_psql() {
  # shellcheck disable=SC2086
  $PG_EXEC psql -X -Atq -v ON_ERROR_STOP=1 "$@"
}

start_scratch_postgres() {
  [ -n "${DRILL_PG_IMAGE:-}" ] || usage_error "DRILL_PG_IMAGE is not set"
  # A swarm node's host name (<system>@<address>) holds characters a container name cannot.
  SCRATCH_CONTAINER="$(printf '%s' "$OFFSITE_HOST" | tr -c 'A-Za-z0-9_.-' '-')-drill-$$"
  pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  if ! docker run -d --rm --name "$SCRATCH_CONTAINER" --network none -e POSTGRES_PASSWORD="$pw" \
    "$DRILL_PG_IMAGE" >/dev/null 2>"$ERR"; then
    fail "drill: cannot start a scratch PostgreSQL from $DRILL_PG_IMAGE: $(tr '\n' ' ' <"$ERR")"
  fi
  PG_EXEC="docker exec -i -e PGUSER=postgres $SCRATCH_CONTAINER"
  export PG_EXEC
  n=0
  # TCP: the official image's first-start server listens on the socket only, then restarts.
  until docker exec "$SCRATCH_CONTAINER" pg_isready -q -h 127.0.0.1 -U postgres >/dev/null 2>&1; do
    n=$((n + 1))
    [ "$n" -lt 120 ] || fail "drill: the scratch PostgreSQL did not start within 60 s"
    sleep 0.5
  done
}

# Compares the restored databases' row counts with the ones recorded at dump time: one line per difference,
# and their number in $WORK/row-problems.
check_rows() {
  dir=$1
  : >"$WORK/row-problems"
  for rows in "$dir"/*.rows; do
    [ -f "$rows" ] || continue
    db=${rows##*/}
    db=${db%.rows}
    while IFS="$(printf '\t')" read -r table expected; do
      [ -n "$table" ] || continue
      got=$(scratch_psql -d "$db" -c "SELECT count(*) FROM $table" </dev/null 2>/dev/null) || got='no'
      if [ "$got" != "$expected" ]; then
        err "drill: table $table of $db has $got rows, its source had $expected at dump time"
        echo "$db $table" >>"$WORK/row-problems"
      fi
    done <"$rows"
  done
}

do_drill() {
  snap=latest
  while [ $# -gt 0 ]; do
    case $1 in
      --snapshot) snap=${2:?--snapshot needs an id}; shift 2 ;;
      *) usage_error "usage: offsite.sh drill [--snapshot ID] (got: $1)" ;;
    esac
  done
  load_env
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  record_failure() {
    printf '%s\t%s\t%s\n' "$started" "$snap" "$1" >"$OFFSITE_STATE/last-drill-failed"
    fail "drill of snapshot $snap: $1"
  }
  rs cat config >/dev/null || record_failure "cannot open the repository: $(diagnose)"
  check_owner "$snap"
  scratch="$WORK/scratch"
  mkdir -p "$scratch"
  restore_files "$snap" "$scratch" db uploads
  dumps="$scratch$(stage_dir)"
  dbs=0
  tables=0
  : >"$WORK/row-problems"
  if has_dumps; then
    [ -f "$dumps/run" ] || record_failure "the snapshot holds no database dumps"
    run=$(cat "$dumps/run")
    for f in "$dumps"/*.dump; do [ -f "$f" ] && dbs=$((dbs + 1)); done
    tables=$(cat "$dumps"/*.rows 2>/dev/null | grep -c . || true)
    start_scratch_postgres
    if ! restore_dumps "$dumps" >"$WORK/restore.log" 2>&1; then
      sed 's/^/  /' "$WORK/restore.log" >&2
      record_failure "a dump of run $run did not restore into the scratch PostgreSQL (above)"
    fi
    check_rows "$dumps"
  else
    [ -f "$dumps/run" ] || record_failure "the snapshot holds no run record ($(stage_dir)/run)"
    run=$(cat "$dumps/run")
  fi
  problems=$(grep -c . "$WORK/row-problems" || true)
  uploads=$(grep -c . "$dumps/uploads.sha256" || true)
  if [ "$uploads" -gt 0 ]; then
    if ! (cd "$scratch" && sha256sum --quiet -c "$dumps/uploads.sha256") >"$WORK/sums" 2>&1; then
      sed "s|^|offsite: drill: upload /|; s|: FAILED\$|: checksum differs or file missing|" "$WORK/sums" | grep -v 'WARNING' >&2 || true
      problems=$((problems + $(grep -c 'FAILED' "$WORK/sums" || true)))
    fi
  fi
  [ "$problems" -eq 0 ] || record_failure "$problems difference(s) with the source (above)"
  printf '%s\t%s\t%s\t%s databases, %s tables, %s uploads\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$snap" "$run" \
    "$dbs" "$tables" "$uploads" >"$OFFSITE_STATE/last-drill"
  rm -f "$OFFSITE_STATE/last-drill-failed"
  log "drill passed: snapshot $snap (run $run): $dbs databases, $tables tables with their row counts, $uploads uploads with their checksums"
}

do_status() {
  [ -n "${OFFSITE_STATE:-}" ] || usage_error "OFFSITE_STATE is not set"
  for f in last-backup last-drill last-drill-failed; do
    if [ -f "$OFFSITE_STATE/$f" ]; then printf '%s\t%s\n' "$f" "$(cat "$OFFSITE_STATE/$f")"; fi
  done
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
  backup)
    if has_dumps; then
      [ $# -eq 1 ] || usage_error "usage: offsite.sh backup TS"
      do_backup "$1"
    else
      [ $# -eq 0 ] || usage_error "usage: offsite.sh backup (no TS: this host takes no dumps, BACKUP_DIR is unset)"
      do_backup "$(date -u +%Y%m%dT%H%M%SZ)"
    fi
    ;;
  restore) do_restore "$@" ;;
  drill) do_drill "$@" ;;
  status) do_status ;;
  *) usage_error "usage: offsite.sh backup TS | restore [...] | drill [...] | status" ;;
esac

#!/bin/sh
# migrate-copy.sh - idempotent copy of the seed's data into the new layout (the manual migration step).
#
# Usage:
#   migrate-copy.sh SRC DEST [SRC DEST ...]
#   e.g. migrate-copy.sh /root/letsencrypt /root/infra/letsencrypt \
#                        /root/uploads/ems /root/ems_system/data/uploads/ems
#
# For each pair: SRC (a folder, or a single file copied into the folder DEST) is copied into DEST,
# which is created when missing. A file is copied only when DEST lacks it or SRC's copy is newer
# (like `cp -u`), so a newer DEST file is never overwritten; mode, mtime (and owner, as root) are kept.
# Symbolic links are copied as links. Every acme.json under DEST ends at mode 600 (Traefik refuses
# anything wider). A missing SRC is reported and skipped. Only POSIX tools (find, cp, ln): no rsync.
# Output per pair: "migrate: copied N files from SRC to DEST" or "migrate: skipped SRC: not found".
# Exit status: 0 ok (also when a SRC was skipped), 1 a copy failed, 2 bad usage.
set -eu

log() { printf 'migrate: %s\n' "$*"; }
err() { printf 'migrate: %s\n' "$*" >&2; }

if [ $# -eq 0 ] || [ $(($# % 2)) -ne 0 ]; then
  err "usage: migrate-copy.sh SRC DEST [SRC DEST ...]"
  exit 2
fi

# Copies the entries given as arguments (paths relative to the current folder, parents before children)
# into DEST, printing one "." per copied file or link (counted by the caller; names may hold newlines).
# Run through `find -exec sh -c ... {} +`; exits non-zero when any copy failed.
# shellcheck disable=SC2016
COPY_ENTRIES='
dest=$1
shift
rc=0
for p in "$@"; do
  t="$dest/${p#./}"
  if [ -L "$p" ]; then
    target=$(readlink "$p") || { rc=1; continue; }
    if [ -L "$t" ] && [ "$(readlink "$t")" = "$target" ]; then continue; fi
    if [ -e "$t" ] && [ ! -L "$t" ] && [ "$t" -nt "$p" ]; then continue; fi
    { rm -f "$t" && ln -s "$target" "$t" && printf .; } || rc=1
  elif [ -d "$p" ]; then
    [ -d "$t" ] || mkdir -p "$t" || rc=1
  elif [ -f "$p" ]; then
    if [ -e "$t" ] && ! [ "$p" -nt "$t" ]; then continue; fi
    { cp -p "$p" "$t" && printf .; } || rc=1
  fi
done
exit "$rc"
'

status=0
while [ $# -gt 0 ]; do
  src=$1
  dest=$2
  shift 2
  if [ ! -e "$src" ] && [ ! -L "$src" ]; then
    log "skipped $src: not found"
    continue
  fi
  mkdir -p "$dest"
  dest_abs=$(cd "$dest" && pwd -P)
  if [ -d "$src" ]; then
    src_abs=$(cd "$src" && pwd -P)
    case $dest_abs/ in
      "$src_abs"/*)
        err "FAILED $src: DEST $dest is SRC or inside it"
        status=1
        continue
        ;;
    esac
    from=$src_abs
    what=.
  else
    from=$(cd "$(dirname "$src")" && pwd -P)
    what=./$(basename "$src")
  fi
  if ! copied=$(cd "$from" && find "$what" -exec sh -c "$COPY_ENTRIES" sh "$dest_abs" {} +); then
    err "FAILED copying $src to $dest"
    status=1
  fi
  find "$dest_abs" -type f -name acme.json -exec chmod 600 {} +
  log "copied ${#copied} files from $src to $dest"
done
exit "$status"

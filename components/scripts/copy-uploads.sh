#!/bin/sh
# copy-uploads.sh - copies the files an old API container wrote into its own layer (real-system.md §6: the EMS
# server writes /uploads/<yyyy>/<mm>/<file> when UPLOAD_PATH is unset) into a host folder, and proves the copy.
#
# Usage: copy-uploads.sh CONTAINER SRC DEST
#   CONTAINER  the old container (running or stopped: `docker cp` reads its layer either way)
#   SRC        the folder inside it, e.g. /uploads
#   DEST       the host folder the stack mounts as the service's uploads, e.g. /root/ems_system/data/uploads/ems
#
# The layer is read once as a tar stream (`docker cp CONTAINER:SRC/. -`), listed (files and bytes), extracted
# into a staging folder beside DEST, then merged: a file DEST lacks is copied (mode and mtime kept); a file DEST
# already holds with the same bytes is left; a file DEST holds with other bytes is a CONFLICT and is never
# overwritten. Then every staged file is compared (cmp) with DEST's. Idempotent: a second run copies nothing.
# Output: "files=N bytes=B copied=C same=S conflicts=K" (N and B from the container's listing), or "none" when
# the container has no SRC. Conflicts are listed on stderr, one "conflict: PATH" a line.
# Exit status: 0 copied and verified, 1 failure or conflicts (DEST keeps its files), 2 bad usage.
set -eu

if [ $# -ne 3 ]; then
  echo "usage: copy-uploads.sh CONTAINER SRC DEST" >&2
  exit 2
fi
container=$1
src=$2
dest=$3

mkdir -p "$dest"
stage=$(mktemp -d "$(dirname "$dest")/.cutover-uploads.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tarfile=$stage/layer.tar
mkdir "$stage/files"

if ! docker cp "$container:$src/." - >"$tarfile" 2>"$stage/err"; then
  if grep -q "Could not find the file" "$stage/err"; then
    echo none
    exit 0
  fi
  cat "$stage/err" >&2
  exit 1
fi

# GNU tar's verbose listing: regular files start with "-", the size is the third field.
listing=$(tar -tvf "$tarfile" | awk '/^-/ { n++; b += $3 } END { printf "%d %d", n, b }')
want_files=${listing% *}
want_bytes=${listing#* }
tar -xpf "$tarfile" -C "$stage/files"

# merge: one line per file on stdout ("copied", "same" or "conflict PATH"); never overwrites.
# shellcheck disable=SC2016
merge='
dest=$1
shift
for f in "$@"; do
  rel=${f#./}
  if [ -e "$dest/$rel" ] || [ -L "$dest/$rel" ]; then
    if cmp -s "$f" "$dest/$rel"; then echo same; else echo "conflict $rel"; fi
  else
    mkdir -p "$(dirname "$dest/$rel")" && cp -p "$f" "$dest/$rel" && echo copied
  fi
done
'
results=$(cd "$stage/files" && find . -type f -exec sh -c "$merge" sh "$dest" {} +)
copied=$(printf '%s\n' "$results" | grep -c '^copied$' || true)
same=$(printf '%s\n' "$results" | grep -c '^same$' || true)
conflicts=$(printf '%s\n' "$results" | grep -c '^conflict ' || true)

# verify: the staged files are the container's listing, and DEST holds each of them byte for byte.
got_files=$(cd "$stage/files" && find . -type f | wc -l | tr -d ' ')
got_bytes=$(cd "$stage/files" && find . -type f -exec cat {} + | wc -c | tr -d ' ')
if [ "$got_files" != "$want_files" ] || [ "$got_bytes" != "$want_bytes" ]; then
  echo "copy-uploads: the copy holds $got_files files ($got_bytes bytes), $container:$src $want_files ($want_bytes bytes)" >&2
  exit 1
fi
# shellcheck disable=SC2016
verify='
dest=$1
shift
for f in "$@"; do cmp -s "$f" "$dest/${f#./}" || echo "${f#./}"; done
'
differ=$(cd "$stage/files" && find . -type f -exec sh -c "$verify" sh "$dest" {} +)

echo "files=$want_files bytes=$want_bytes copied=$copied same=$same conflicts=$conflicts"
if [ -n "$differ" ]; then
  printf '%s\n' "$differ" | sed 's/^/conflict: /' >&2
  exit 1
fi

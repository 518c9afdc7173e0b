#!/usr/bin/env bash
# build.sh - builds ems-run (ems-run.c) into a static, freestanding x86_64 Linux binary.
# The result is committed as ems-run.amd64 and uploaded by the program into the API containers.
# The build is reproducible: no libc, no build id, stripped, fixed flags. test/probe checks that
# rebuilding gives the committed bytes; after changing ems-run.c run this script and commit the binary.
# Usage: build.sh [OUTPUT]   (default: ems-run.amd64 beside this script)   Needs: gcc (x86_64).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/ems-run.amd64}
CC=${CC:-gcc}

[ "$(uname -m)" = x86_64 ] || { echo "build.sh: needs an x86_64 host (raw x86_64 syscalls)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ems-run-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Compiling from a fixed relative path keeps the output independent of where the tree lives.
cp "$here/ems-run.c" "$tmp/ems-run.c"
(
  cd "$tmp"
  "$CC" -std=c11 -Os -Wall -Wextra -Werror -static -nostdlib -fno-pie -no-pie -ffreestanding \
    -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident \
    -Wl,--build-id=none -Wl,-z,noexecstack -s -o ems-run ems-run.c
)
install -m 0755 "$tmp/ems-run" "$out"
echo "build.sh: built $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16))"

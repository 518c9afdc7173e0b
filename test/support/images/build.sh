#!/usr/bin/env bash
# build.sh - builds the local images the docker tests (test/docker) run; no registry is needed.
#
#   ems-test/ems-server:1.2.1        stand-ins for ghcr.io/edumigsoft/ems-server (standin-server.c on :8181,
#   ems-test/ems-server:1.2.2          FROM scratch: only /app/bin/server, CMD ["/app/bin/server"]); good
#   ems-test/ems-server:9.0.0-exits  prints a migration error and exits 3 at start
#   ems-test/ems-server:9.0.1-500    starts, but /api/v1/health answers 500
#   ems-test/sms-server:1.1.0        the same for ghcr.io/edumigsoft/sms-server (on :8080); good
#   ems-test/sms-server:1.1.1          good
#   ems-test/sms-server:9.0.0-exits  exits 3 at start
#   ems-test/sms-server:9.0.1-500    health answers 500
#                                    Each has ENV APP_VERSION=<tag> and ENV=production, as publish.sh bakes.
#   ems-test/ems-server-pg:1.2.1     each good version built with -DLOGIN=1: it logs into PostgreSQL at
#   ems-test/ems-server-pg:1.2.2       start with DB_* (pg-login.c, libcrypto linked statically) and exits 1 when
#   ems-test/sms-server-pg:1.1.0       refused, as the real servers do (real-system.md §6); every suite whose
#   ems-test/sms-server-pg:1.1.1       APIs run good versions runs these, against ems-test/postgres:15
#   ems-test/postgres:15             the host's PostgreSQL 15 (Debian `postgresql`) + busybox, with an
#                                    entrypoint honouring POSTGRES_USER/POSTGRES_PASSWORD/PGDATA like the
#                                    official image (postgres-entrypoint.sh)
#
# The official image's STOPSIGNAL SIGINT is left out (Docker 20.10's `docker import --change` rejects it):
# `docker stop` sends SIGTERM, PostgreSQL's smart shutdown, which is enough for one test server.
# Each image is a root filesystem assembled in a temp folder and `docker import`ed. Idempotent: an image
# is skipped when its tag exists with the label ems-test.build equal to the hash of this script and the
# entrypoint (change either and it is rebuilt). Concurrent runs (two jest workers) are serialised by flock.
# Needs: docker, gcc + libc6-dev (static glibc), libssl-dev (static libcrypto), busybox-static (/bin/busybox, statically linked),
# postgresql (PostgreSQL 15), util-linux.
# Usage: build.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
BUSYBOX=${BUSYBOX:-/bin/busybox}
# service:port:good versions
API_SERVICES=("ems:8181:1.2.1 1.2.2" "sms:8080:1.1.0 1.1.1")
PG_TAG=ems-test/postgres:$PG_MAJOR
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
force=${1:-}

stamp=$(cat "$0" "$here/postgres-entrypoint.sh" "$here/standin-server.c" "$here/pg-login.c" "$here/pg-login.h" |
  sha256sum | cut -c1-16)

die() { echo "build.sh: $*" >&2; exit 1; }
command -v docker >/dev/null || die "docker client not found"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then die "$BUSYBOX is dynamically linked (install busybox-static)"; fi

exec 9>"${TMPDIR:-/tmp}/ems-test-images.lock"
flock -w 300 9 || die "timed out waiting for another build"

up_to_date() {
  [ "$force" != --force ] &&
    [ "$(docker image inspect -f '{{index .Config.Labels "ems-test.build"}}' "$1" 2>/dev/null || true)" = "$stamp" ]
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ems-test-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# busybox ROOT: /bin/busybox plus a symlink per applet, /tmp, and the passwd/group files.
busybox_root() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
  chmod 1777 "$root/tmp"
  cp "$BUSYBOX" "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# import ROOT TAG CHANGE...: the folder as a one-layer image.
import() {
  local root=$1 tag=$2
  shift 2
  local changes=(--change "LABEL ems-test.build=$stamp")
  local c
  for c in "$@"; do changes+=(--change "$c"); done
  tar -C "$root" --numeric-owner -cf - . | docker import "${changes[@]}" - "$tag" >/dev/null
  echo "build.sh: built $tag ($(du -sh "$root" | cut -f1))"
}

# build_api SERVICE PORT GOOD_VERSIONS: the stand-in images of one API, MODE 0 for the good versions,
# 1 for 9.0.0-exits, 2 for 9.0.1-500.
build_api() {
  local svc=$1 port=$2 good=$3 version mode root
  command -v gcc >/dev/null || die "gcc not found (apt-get install gcc libc6-dev)"
  for version in $good 9.0.0-exits 9.0.1-500; do
    case $version in
      *-exits) mode=1 ;;
      *-500) mode=2 ;;
      *) mode=0 ;;
    esac
    root=$work/$svc-$version
    mkdir -p "$root/app/bin"
    gcc -std=gnu11 -Os -Wall -Wextra -Werror -static -s -DPORT="$port" -DMODE="$mode" \
      -o "$root/app/bin/server" "$here/standin-server.c"
    import "$root" "ems-test/$svc-server:$version" 'CMD ["/app/bin/server"]' "EXPOSE $port" \
      "ENV APP_VERSION=$version" 'ENV ENV=production'
  done
  # The ones that log into PostgreSQL: every good version.
  for version in $good; do
    root=$work/$svc-pg-$version
    mkdir -p "$root/app/bin"
    # libcrypto's static archive warns that getaddrinfo needs glibc's NSS at run time: the DNS resolver is built
    # into glibc >= 2.34, and the server resolves DB_HOST through Docker's embedded DNS with it.
    gcc -std=gnu11 -Os -Wall -Wextra -Werror -static -s -DPORT="$port" -DMODE=0 -DLOGIN=1 -I"$here" \
      -o "$root/app/bin/server" "$here/standin-server.c" "$here/pg-login.c" -lcrypto 2>"$work/ld.log" ||
      { cat "$work/ld.log" >&2; die "cannot build ems-test/$svc-server-pg:$version"; }
    import "$root" "ems-test/$svc-server-pg:$version" 'CMD ["/app/bin/server"]' "EXPOSE $port" \
      "ENV APP_VERSION=$version" 'ENV ENV=production'
  done
}

build_postgres() {
  local root=$work/pg bin lib
  [ -x "$PG_BIN/postgres" ] || die "$PG_BIN/postgres not found (apt-get install postgresql)"
  busybox_root "$root"
  printf 'postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' >>"$root/etc/passwd"
  printf 'postgres:x:999:\n' >>"$root/etc/group"

  local bins=(initdb postgres pg_ctl psql pg_dump pg_dumpall pg_restore pg_isready createdb)
  mkdir -p "$root$PG_BIN" "$root/usr/lib/postgresql/$PG_MAJOR/lib" "$root/usr/share/postgresql" "$root/usr/local/bin" "$root/usr/bin"
  for bin in "${bins[@]}"; do cp "$PG_BIN/$bin" "$root$PG_BIN/"; done
  # Server modules, without the LLVM JIT (it would drag in libLLVM; jit is off) and the build files.
  tar -C "/usr/lib/postgresql/$PG_MAJOR/lib" --exclude='llvmjit*' --exclude=bitcode --exclude=pgxs -cf - . |
    tar -C "$root/usr/lib/postgresql/$PG_MAJOR/lib" -xf -
  cp -a "/usr/share/postgresql/$PG_MAJOR" "$root/usr/share/postgresql/"
  rm -rf "$root/usr/share/postgresql/$PG_MAJOR/man"
  # Debian builds PostgreSQL against the system time zone database.
  mkdir -p "$root/usr/share"
  cp -a /usr/share/zoneinfo "$root/usr/share/"
  cp "$(command -v setpriv)" "$root/usr/bin/setpriv"

  # Every shared library the binaries and modules load, at the path the loader finds it on the host.
  for lib in $( { for bin in "${bins[@]}"; do ldd "$PG_BIN/$bin"; done
                  ldd "$root/usr/bin/setpriv"
                  find "$root/usr/lib/postgresql/$PG_MAJOR/lib" -name '*.so' -exec ldd {} \; ; } 2>/dev/null |
                awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u); do
    cp -L --parents "$lib" "$root"
  done
  if ldd "$PG_BIN/postgres" | grep -q 'not found'; then die "postgres has unresolved libraries"; fi

  cp "$here/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$root/var/run/postgresql" "$root/var/lib/postgresql/data"
  chown -R 999:999 "$root/var/run/postgresql" "$root/var/lib/postgresql"
  chmod 2777 "$root/var/run/postgresql"
  chmod 700 "$root/var/lib/postgresql/data"

  import "$root" "$PG_TAG" \
    "ENV PATH=$PG_BIN:$PATH_ENV" \
    'ENV PGDATA=/var/lib/postgresql/data' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' \
    'CMD ["postgres"]' \
    'EXPOSE 5432' \
    'VOLUME /var/lib/postgresql/data'
}

for entry in "${API_SERVICES[@]}"; do
  IFS=: read -r svc port good <<<"$entry"
  fresh=yes
  for version in $good 9.0.0-exits 9.0.1-500; do up_to_date "ems-test/$svc-server:$version" || fresh=no; done
  for version in $good; do up_to_date "ems-test/$svc-server-pg:$version" || fresh=no; done
  if [ "$fresh" = yes ]; then
    echo "build.sh: ems-test/$svc-server images are up to date"
  else
    build_api "$svc" "$port" "$good"
  fi
done
if up_to_date "$PG_TAG"; then
  echo "build.sh: $PG_TAG is up to date"
else
  build_postgres
fi

#!/usr/bin/env bash
# socket-proxy-image.sh - builds ems-test/haproxy:debian, the socket proxy the docker tests run in place of the
# pinned official haproxy image (no registry here): Debian's haproxy binary (apt-get install haproxy) at the
# official image's path /usr/local/sbin/haproxy, with the shared libraries it links, run as the official image
# runs it (`haproxy -f /usr/local/etc/haproxy/haproxy.cfg`, the program's own generated configuration). It also
# holds a static busybox, so a container of the same image on the proxy's network is the test's client (wget).
# Idempotent: skipped when the tag exists with the label ems-test.build equal to the hash of this script and the
# haproxy binary. Needs: docker, haproxy, busybox-static.
# Usage: socket-proxy-image.sh
set -euo pipefail

TAG=ems-test/haproxy:debian
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "socket-proxy-image.sh: $*" >&2; exit 1; }
[ -x "$HAPROXY" ] || die "$HAPROXY not found (apt-get install haproxy)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (apt-get install busybox-static)"

stamp=$(cat "$0" "$HAPROXY" | sha256sum | cut -c1-16)
exec 9>/tmp/ems-test-socket-proxy-image.lock
flock 9
if [ "$(docker image inspect --format '{{index .Config.Labels "ems-test.build"}}' "$TAG" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/sbin" "$root/usr/local/etc/haproxy" "$root/bin" "$root/tmp" "$root/var/run" "$root/etc"
cp "$HAPROXY" "$root/usr/local/sbin/haproxy"
# Every library the binary links, and the dynamic loader, at their own paths.
ldd "$HAPROXY" | grep -o '/[^ ]*' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/wget"
ln -s busybox "$root/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL ems-test.build=$stamp" \
  --change 'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]' \
  - "$TAG" >/dev/null
echo "socket-proxy-image.sh: built $TAG"

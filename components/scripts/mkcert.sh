#!/bin/sh
# Makes the dev TLS certificate (the seed's servers/infra/certs/local.pem and local-key.pem) for the
# given .local domains with mkcert. Existing files are never overwritten: delete them to get new ones.
# Usage: mkcert.sh CERTS_DIR DOMAIN...
set -eu
certs_dir=$1
shift
cert="$certs_dir/local.pem"
key="$certs_dir/local-key.pem"
if [ -s "$cert" ] && [ -s "$key" ]; then
  echo "mkcert: keeping existing $cert and $key"
  exit 0
fi
if ! command -v mkcert >/dev/null 2>&1; then
  echo "mkcert: mkcert is not installed (apt install mkcert / brew install mkcert)" >&2
  exit 1
fi
mkdir -p "$certs_dir"
mkcert -install
mkcert -cert-file "$cert" -key-file "$key" "$@"
chmod 600 "$key"
echo "mkcert: wrote $cert and $key for $*"

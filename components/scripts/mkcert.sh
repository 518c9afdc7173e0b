#!/bin/sh
# Makes the dev TLS certificate (the seed's servers/infra/certs/local.pem and local-key.pem) for the
# given .local domains with mkcert. Existing files are never overwritten: when they do not cover every
# domain asked for, the script stops and says which to delete. Prints the certificate's checksum last
# ("mkcert: fingerprint N"), so Traefik restarts when the certificate changes.
# Usage: mkcert.sh CERTS_DIR DOMAIN...
# Every value is passed after `--`: a domain starting with - is never read as a flag (-uninstall).
set -eu
if [ $# -lt 2 ]; then
  echo "mkcert: usage: mkcert.sh CERTS_DIR DOMAIN..." >&2
  exit 2
fi
certs_dir=$1
shift
cert="$certs_dir/local.pem"
key="$certs_dir/local-key.pem"

fingerprint() {
  echo "mkcert: fingerprint $(cksum < "$cert" | cut -d ' ' -f 1)"
}

if [ -s "$cert" ] && [ -s "$key" ]; then
  if command -v openssl >/dev/null 2>&1; then
    for domain in "$@"; do
      if ! openssl x509 -in "$cert" -noout -checkhost "$domain" 2>/dev/null | grep -q ' does match'; then
        echo "mkcert: $cert does not cover $domain; delete $cert and $key, then run pulumi up again" >&2
        exit 1
      fi
    done
  fi
  echo "mkcert: keeping existing $cert and $key"
  fingerprint
  exit 0
fi
if ! command -v mkcert >/dev/null 2>&1; then
  echo "mkcert: mkcert is not installed (apt install mkcert / brew install mkcert)" >&2
  exit 1
fi
mkdir -p -- "$certs_dir"
mkcert -install
mkcert -cert-file "$cert" -key-file "$key" -- "$@"
chmod 600 "$key"
echo "mkcert: wrote $cert and $key for $*"
fingerprint

/**
 * The host command lines of the cut-over's host checks (ops/migrate/hostChecks.ts judges what they print): the
 * running Portainer's version, this host's addresses, what a host name resolves to, and the ACME store.
 */
import { shellQuote as q } from "../../components/shell";

export const HOST_CHECK_COMMANDS = {
  /** Exits 0 when the container exists (prints its id). */
  containerId: (container: string) => `docker inspect --format '{{.Id}}' ${q(container)}`,
  /**
   * The running Portainer's version: its image's OCI version label, else its own `/api/status` (public, no login)
   * on its address on the first network.
   */
  portainerVersion: (container: string) =>
    `c=${q(container)}; v=$(docker inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$c" 2>/dev/null); ` +
    `if [ -n "$v" ] && [ "$v" != "<no value>" ]; then echo "$v"; exit 0; fi; ` +
    `ip=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$c" | cut -d' ' -f1); ` +
    `[ -n "$ip" ] && curl -sS --max-time 5 "http://$ip:9000/api/status"`,
  /** Every address of this host, one a line. */
  addresses: "ip -o addr show | awk '{ split($4, a, \"/\"); print a[1] }'",
  /** The addresses a name resolves to, one a line (nothing when it does not resolve). */
  resolve: (host: string) => `getent ahosts ${q(host)} | awk '{ print $1 }' | sort -u || true`,
  /** Whether the host has a global IPv6 address: prints them. */
  ipv6: "ip -6 -o addr show scope global | awk '{ print $4 }'",
  /** The ACME store's content (JSON), or nothing. */
  acme: (file: string) => `f=${q(file)}; [ ! -r "$f" ] || cat "$f"`,
};

/**
 * The cut-over's pre-flight for what the VPS cannot undo (real-system.md §6):
 *  - the configured Portainer is not older than the running one (an older Portainer refuses a data volume a newer
 *    one wrote: "database schema version does not align", portainer/portainer#12382);
 *  - each host name the stack routes resolves to an address of this host, or the ACME store already holds its
 *    certificate (the first cut-over needs new HTTP-01 certificates for api.ems/api.sms);
 *  - a warning when Traefik listens on IPv6 and the host has no global IPv6 address.
 */
import * as semver from "semver";
import { HOST_CHECK_COMMANDS } from "../hostCommands/cutoverHostChecks";
import type { BoundShell } from "../runner/hostShell";

/** A version out of `/api/status` JSON or a bare label; undefined when none. */
export function parsePortainerVersion(output: string): string | undefined {
  const text = output.trim();
  if (!text) return undefined;
  try {
    const status = JSON.parse(text) as { Version?: unknown };
    if (typeof status.Version === "string") return semver.valid(semver.coerce(status.Version)) ?? undefined;
  } catch {
    // a label value
  }
  return semver.valid(semver.coerce(text)) ?? undefined;
}

/** The configured Portainer must not be older than the running one. */
export function portainerVerdict(
  configuredImage: string,
  running: string | undefined,
): { ok: boolean; message: string } {
  const tag = configuredImage.split(":").pop() ?? "";
  const configured = semver.valid(semver.coerce(tag));
  if (!running)
    return { ok: true, message: `the running Portainer's version could not be read; ${configuredImage} is kept` };
  if (!configured)
    return {
      ok: false,
      message: `cannot tell the version of ${configuredImage}: pin ems-infra:portainer.image to portainer/portainer-ce:${running} or later`,
    };
  return semver.lt(configured, running)
    ? {
        ok: false,
        message:
          `${configuredImage} is older than the running Portainer ${running}: it would refuse the data volume the newer one ` +
          `wrote (portainer/portainer#12382). Set ems-infra:portainer.image to portainer/portainer-ce:${running} or later`,
      }
    : { ok: true, message: `${configuredImage} is not older than the running Portainer ${running}` };
}

/** The host names whose certificate the ACME store (Traefik's JSON) holds. */
export function acmeDomains(json: string): Set<string> {
  const out = new Set<string>();
  if (!json.trim()) return out;
  try {
    const store = JSON.parse(json) as Record<
      string,
      { Certificates?: { domain?: { main?: string; sans?: string[] } }[] }
    >;
    for (const resolver of Object.values(store))
      for (const c of resolver?.Certificates ?? []) {
        if (c.domain?.main) out.add(c.domain.main);
        for (const s of c.domain?.sans ?? []) out.add(s);
      }
  } catch {
    // an unreadable store holds nothing we can count on
  }
  return out;
}

export interface HostCheckInput {
  portainerContainer: string;
  portainerImage?: string;
  routedHosts: string[];
  acmeFile: string;
  ipv6: boolean;
}

/** Problems (refusals) and notes (warnings and what was checked). */
export async function runHostChecks(
  shell: BoundShell,
  input: HostCheckInput,
): Promise<{ problems: string[]; notes: string[] }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const out = async (command: string) => (await shell.run(command, { timeoutMs: 30_000 })).stdout;

  if (input.portainerImage) {
    const present = (await shell.run(HOST_CHECK_COMMANDS.containerId(input.portainerContainer))).code === 0;
    if (present) {
      const v = portainerVerdict(
        input.portainerImage,
        parsePortainerVersion(await out(HOST_CHECK_COMMANDS.portainerVersion(input.portainerContainer))),
      );
      (v.ok ? notes : problems).push(v.message);
    }
  }

  const mine = new Set((await out(HOST_CHECK_COMMANDS.addresses)).split("\n").filter(Boolean));
  const certs = acmeDomains(await out(HOST_CHECK_COMMANDS.acme(input.acmeFile)));
  for (const host of input.routedHosts) {
    const addresses = (await out(HOST_CHECK_COMMANDS.resolve(host))).split("\n").filter(Boolean);
    if (addresses.some((a) => mine.has(a))) notes.push(`${host} resolves to this host (${addresses.join(", ")})`);
    else if (certs.has(host)) notes.push(`${host}: its certificate is already in ${input.acmeFile}`);
    else
      problems.push(
        `${host} ${addresses.length ? `resolves to ${addresses.join(", ")}, not to this host` : "does not resolve"} and ` +
          `${input.acmeFile} holds no certificate for it: Let's Encrypt could not issue one (HTTP-01). Point its DNS at this host first`,
      );
  }

  if (input.ipv6 && (await out(HOST_CHECK_COMMANDS.ipv6)).trim() === "")
    notes.push(
      "warning: ems-infra:traefik.ipv6 is on but this host has no global IPv6 address: AAAA records would point nowhere (set it to false, or remove the AAAA records)",
    );
  return { problems, notes };
}

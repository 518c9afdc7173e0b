/**
 * The cut-over's pre-flight for what the VPS cannot undo (ops/migrate/hostChecks.ts): Portainer not older than the
 * running one, routed names resolving here (or already certified), the IPv6 warning. The commands run on this
 * machine against a Portainer stand-in (busybox httpd answering /api/status like Portainer) on dockerd; names
 * resolve from /etc/hosts only (no DNS server is ever asked in a test).
 */
import * as fs from "fs";
import * as path from "path";
import { boundShell, BoundShell } from "../../ops/runner/hostShell";
import { HOST_CHECK_COMMANDS } from "../../ops/hostCommands/cutoverHostChecks";
import { acmeDomains, parsePortainerVersion, portainerVerdict, runHostChecks } from "../../ops/migrate/hostChecks";
import { buildTestImages, describeWithDocker, docker, DockerScratch, IMAGES } from "../support";

describe("verdicts", () => {
  test("a pinned Portainer older than the running one is refused, naming the version to set", () => {
    const v = portainerVerdict("portainer/portainer-ce:2.27.3", "2.33.1");
    expect(v.ok).toBe(false);
    expect(v.message).toContain(
      "portainer/portainer-ce:2.27.3 is older than the running Portainer 2.33.1: it would refuse the data volume",
    );
    expect(v.message).toContain("Set ems-infra:portainer.image to portainer/portainer-ce:2.33.1 or later");
    expect(portainerVerdict("portainer/portainer-ce:2.33.1", "2.33.1").ok).toBe(true);
    expect(portainerVerdict("portainer/portainer-ce:2.34.0", "2.33.1").ok).toBe(true);
    expect(portainerVerdict("portainer/portainer-ce:latest", "2.33.1").ok).toBe(false);
  });

  test("the running version comes from Portainer's /api/status or an OCI label", () => {
    expect(parsePortainerVersion('{"Version":"2.33.1","InstanceID":"x"}')).toBe("2.33.1");
    expect(parsePortainerVersion("2.27.3\n")).toBe("2.27.3");
    expect(parsePortainerVersion("")).toBeUndefined();
  });

  test("the ACME store's certificates, main names and SANs", () => {
    const json = JSON.stringify({
      ems_system_resolver: {
        Certificates: [
          { domain: { main: "traefik.edumigsoft.com.br" } },
          { domain: { main: "portainer.edumigsoft.com.br", sans: ["www.portainer.edumigsoft.com.br"] } },
        ],
      },
    });
    expect([...acmeDomains(json)].sort()).toEqual([
      "portainer.edumigsoft.com.br",
      "traefik.edumigsoft.com.br",
      "www.portainer.edumigsoft.com.br",
    ]);
    expect(acmeDomains("").size).toBe(0);
  });
});

describeWithDocker("on this machine and dockerd", () => {
  const scratch = new DockerScratch("hostchk");
  let portainer = "";
  let acmeFile = "";
  const shell = (): BoundShell => {
    const local = boundShell("local");
    return {
      where: "local",
      run: (c, o) =>
        local.run(c.startsWith("getent ahosts ") ? c.replace("getent ahosts ", "getent -s files ahosts ") : c, o),
    };
  };

  beforeAll(() => {
    buildTestImages();
    const network = scratch.network({ name: "hostchk" });
    portainer = scratch.track(scratch.rename("portainer"));
    docker([
      "run",
      "-d",
      "--name",
      portainer,
      "--network",
      network,
      "--entrypoint",
      "sh",
      IMAGES.postgres,
      "-c",
      `mkdir -p /www/api && printf '{"Version":"2.33.1","InstanceID":"x"}' >/www/api/status && exec busybox httpd -f -p 9000 -h /www`,
    ]);
    acmeFile = path.join(scratch.dir("acme"), "ems_system.json");
    fs.writeFileSync(
      acmeFile,
      JSON.stringify({ ems_system_resolver: { Certificates: [{ domain: { main: "traefik.edumigsoft.com.br" } }] } }),
      { mode: 0o600 },
    );
  }, 180_000);
  afterAll(() => scratch.cleanup(), 60_000);

  test("the running Portainer's version is read from its /api/status", async () => {
    const deadline = Date.now() + 10_000;
    let out = "";
    while (Date.now() < deadline && !out.includes("Version")) {
      out = (await shell().run(HOST_CHECK_COMMANDS.portainerVersion(portainer))).stdout;
      if (!out.includes("Version")) await new Promise((r) => setTimeout(r, 300));
    }
    expect(parsePortainerVersion(out)).toBe("2.33.1");
  }, 30_000);

  test("refuses an older Portainer and a name that neither resolves here nor has a certificate; passes the others", async () => {
    const r = await runHostChecks(shell(), {
      portainerContainer: portainer,
      portainerImage: "portainer/portainer-ce:2.27.3",
      routedHosts: ["localhost", "traefik.edumigsoft.com.br", "api.ems.edumigsoft.com.br"],
      acmeFile,
      ipv6: false,
    });
    expect(r.problems).toEqual([
      expect.stringContaining("portainer/portainer-ce:2.27.3 is older than the running Portainer 2.33.1"),
      `api.ems.edumigsoft.com.br does not resolve and ${acmeFile} holds no certificate for it: Let's Encrypt could not issue one (HTTP-01). Point its DNS at this host first`,
    ]);
    expect(r.notes).toEqual(
      expect.arrayContaining([
        "localhost resolves to this host (127.0.0.1)",
        `traefik.edumigsoft.com.br: its certificate is already in ${acmeFile}`,
      ]),
    );
  }, 30_000);

  test("the IPv6 warning follows this host's global IPv6 addresses", async () => {
    const has = (await shell().run(HOST_CHECK_COMMANDS.ipv6)).stdout.trim() !== "";
    const r = await runHostChecks(shell(), { portainerContainer: portainer, routedHosts: [], acmeFile, ipv6: true });
    const warned = r.notes.some((n) =>
      n.startsWith("warning: ems-infra:traefik.ipv6 is on but this host has no global IPv6"),
    );
    expect(warned).toBe(!has);
    const off = await runHostChecks(shell(), { portainerContainer: portainer, routedHosts: [], acmeFile, ipv6: false });
    expect(off.notes).toEqual([]);
  }, 30_000);
});

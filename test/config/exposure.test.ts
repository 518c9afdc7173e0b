/**
 * What the config lets be reached from where: the laptop's Traefik on loopback, no open dashboard beyond it, no
 * ACME from a development stack, no public Portainer in production without an allow-list; and a Postgres image
 * pinned by digest alone declares the major of its data.
 */
import { ConfigError, parseStackConfig, StackConfig } from "../../stacks/config";
import { committedConfig, TEST_SECRETS } from "../support";

const DIGEST = "sha256:" + "ab".repeat(32);
const prod = (extra: Record<string, string> = {}) => ({ ...committedConfig("prod"), ...TEST_SECRETS, ...extra });
const dev = (extra: Record<string, string> = {}) => ({ ...committedConfig("dev"), ...extra });

function parse(stack: string, config: Record<string, string>): StackConfig | string[] {
  try {
    return parseStackConfig(stack, config, new Set(Object.keys(TEST_SECRETS)), "/home/dev", "/work/repo");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}
const ok = (r: StackConfig | string[]): StackConfig => {
  if (Array.isArray(r)) throw new Error(r.join("\n"));
  return r;
};
/** One committed object key with some fields changed, as Pulumi hands it (JSON). */
function merged(config: Record<string, string>, key: string, fields: Record<string, unknown>): Record<string, string> {
  return { [`ems-infra:${key}`]: JSON.stringify({ ...JSON.parse(config[`ems-infra:${key}`] ?? "{}"), ...fields }) };
}

test("the laptop's Traefik listens on 127.0.0.1 and ::1 by default, the VPS's on every address", () => {
  expect(ok(parse("dev", dev())).traefik.listen).toEqual(["127.0.0.1", "::1"]);
  expect(ok(parse("prod", prod())).traefik.listen).toEqual(["0.0.0.0", "::"]);
  const widened = dev({
    ...merged(dev(), "traefik", { listen: ["127.0.0.1", "192.168.1.20"], dashboard: { enabled: false } }),
    ...merged(dev(), "portainer", { allowFrom: ["192.168.1.0/24"] }),
  });
  expect(ok(parse("dev", widened)).traefik.listen).toEqual(["127.0.0.1", "192.168.1.20"]);
  expect(parse("dev", dev(merged(dev(), "traefik", { listen: ["localhost"] })))).toEqual([
    "ems-infra:traefik.listen.0: must be an IPv4 or IPv6 address",
  ]);
});

test("beyond the laptop, a development dashboard (no password) is refused, and Portainer needs an allow-list", () => {
  const widened = dev(merged(dev(), "traefik", { listen: ["0.0.0.0"] }));
  expect(parse("dev", widened)).toEqual([
    "ems-infra:portainer.allowFrom: must list the client address ranges (CIDR) allowed in: ems-infra:traefik.listen reaches beyond this machine",
    "ems-infra:traefik.dashboard.enabled: the development dashboard has no password and ems-infra:traefik.listen reaches beyond this machine (0.0.0.0); turn the dashboard off or listen on 127.0.0.1/::1 only",
  ]);
});

test("environment: development with tls.mode: acme is refused, the key named", () => {
  const acme = dev({
    "ems-infra:tls": JSON.stringify({ mode: "acme", email: "dev@example.com", storageDir: "/tmp/acme" }),
  });
  expect(parse("dev", acme)).toEqual([
    'ems-infra:tls.mode: must be "mkcert" in development: ACME asks Let\'s Encrypt for public certificates, which only a production stack on a public server may do',
  ]);
});

test("Portainer: private in production by default (no router), public on the laptop; public in production needs an allow-list", () => {
  expect(ok(parse("prod", prod())).portainer).toMatchObject({ public: false, tunnelPort: 9000 });
  expect(ok(parse("dev", dev())).portainer.public).toBe(true);
  expect(parse("prod", prod(merged(prod(), "portainer", { public: true })))).toEqual([
    "ems-infra:portainer.allowFrom: must list the client address ranges (CIDR) allowed in when ems-infra:portainer.public is true in production (Portainer holds the Docker socket); or leave it private and use npm run tunnel",
  ]);
  const allowed = prod(merged(prod(), "portainer", { public: true, allowFrom: ["203.0.113.7/32", "2001:db8::/48"] }));
  expect(ok(parse("prod", allowed)).portainer).toMatchObject({
    public: true,
    allowFrom: ["203.0.113.7/32", "2001:db8::/48"],
  });
  expect(
    parse("prod", prod(merged(prod(), "portainer", { public: true, allowFrom: ["203.0.113.7", "10.0.0.0/33"] }))),
  ).toEqual([
    "ems-infra:portainer.allowFrom.0: must be an address range in CIDR notation, e.g. 203.0.113.7/32",
    "ems-infra:portainer.allowFrom.1: must be an address range in CIDR notation, e.g. 203.0.113.7/32",
  ]);
});

test("a Postgres image pinned by digest alone must declare postgres.dataVersion; with it, the guard compares as before", () => {
  const pg = JSON.parse(committedConfig("prod")["ems-infra:postgres"]);
  const { dataVersion: _omitted, ...noVersion } = pg;
  const digestOnly = prod({ "ems-infra:postgres": JSON.stringify({ ...noVersion, image: `postgres@${DIGEST}` }) });
  expect(parse("prod", digestOnly)).toEqual([
    `ems-infra:postgres.dataVersion: must be set when ems-infra:postgres.image names no major version (postgres@${DIGEST}): the major-version guard compares the two`,
  ]);
  const declared = prod({ "ems-infra:postgres": JSON.stringify({ ...pg, image: `postgres@${DIGEST}` }) });
  expect(ok(parse("prod", declared)).postgres.dataVersion).toBe(17);
  const tagged = prod({ "ems-infra:postgres": JSON.stringify({ ...pg, image: `postgres:16.4@${DIGEST}` }) });
  expect((parse("prod", tagged) as string[])[0]).toMatch(/^ems-infra:postgres\.image: major version 16 cannot open/);
});

/**
 * mkcert.sh run by a real shell as LocalCertificates has it run, with a throwaway CA: CAROOT points into a
 * temp folder and TRUST_STORES=none. (mkcert treats an empty TRUST_STORES as "autodetect every store", so
 * `TRUST_STORES=` would install the CA into this machine's trust store; a list naming no known store —
 * "none" — installs it nowhere: `mkcert -install` then only creates the CA in CAROOT.)
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalCertificates } from "../../components/localCertificates";
import { runComponents, T } from "../support";

const HAS_MKCERT = spawnSync("sh", ["-c", "command -v mkcert && command -v openssl"]).status === 0;
// In CI the tools are installed by .ci/run: a missing one must fail there, not skip.
const maybe = HAS_MKCERT || process.env.CI === "true" ? test : test.skip;
if (!HAS_MKCERT) console.warn("mkcert or openssl is not installed: the mkcert.sh tests are skipped");

const DOMAINS = ["api.ems.local", "api.sms.local"];
const SYSTEM_STORES = ["/usr/local/share/ca-certificates", "/etc/ssl/certs"];

let root: string;
let certs: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-mkcert-"));
  certs = path.join(root, "servers/infra/certs");
  env = { PATH: process.env.PATH, HOME: path.join(root, "home"), CAROOT: path.join(root, "ca"), TRUST_STORES: "none" };
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function registered() {
  const run = await runComponents(() => new LocalCertificates("local-certs", { certsDir: certs, domains: DOMAINS }));
  const cmd = run.get(T.localCommand, "local-certs-mkcert");
  return { create: cmd.inputs.create as string, stdin: cmd.inputs.stdin as string };
}

const runOnHost = (cmd: { create: string; stdin: string }, environment = env) =>
  spawnSync("/bin/sh", ["-c", cmd.create], { input: cmd.stdin, encoding: "utf8", env: environment });

const listing = () =>
  SYSTEM_STORES.filter((d) => fs.existsSync(d)).map((d) => `${d}: ${fs.readdirSync(d).sort().join(",")}`);

maybe(
  "makes local.pem and local-key.pem for api.ems.local and api.sms.local, signed by the CA in CAROOT, key mode 600",
  async () => {
    const before = listing();
    const result = runOnHost(await registered());
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    const cert = path.join(certs, "local.pem");
    const key = path.join(certs, "local-key.pem");
    expect(result.stdout).toContain(`mkcert: wrote ${cert} and ${key} for api.ems.local api.sms.local`);

    const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", cert], { encoding: "utf8" });
    expect(text).toMatch(/DNS:api\.ems\.local, DNS:api\.sms\.local/);
    expect((fs.statSync(key).mode & 0o777).toString(8)).toBe("600");
    expect(
      execFileSync("openssl", ["verify", "-CAfile", path.join(root, "ca/rootCA.pem"), cert], {
        encoding: "utf8",
      }).trim(),
    ).toBe(`${cert}: OK`);
    const pubFromCert = execFileSync("openssl", ["x509", "-noout", "-pubkey", "-in", cert], { encoding: "utf8" });
    const pubFromKey = execFileSync("openssl", ["pkey", "-pubout", "-in", key], { encoding: "utf8" });
    expect(pubFromKey).toBe(pubFromCert);
    // The machine's trust store was left alone.
    expect(listing()).toEqual(before);
  },
);

maybe("a second run keeps the existing files byte for byte", async () => {
  const cmd = await registered();
  expect(runOnHost(cmd).status).toBe(0);
  const cert = fs.readFileSync(path.join(certs, "local.pem"));
  const key = fs.readFileSync(path.join(certs, "local-key.pem"));
  fs.rmSync(path.join(root, "ca"), { recursive: true }); // a new CA would mean new files: there must be none

  const again = runOnHost(cmd);
  expect(again.status).toBe(0);
  expect(again.stdout).toContain("mkcert: keeping existing");
  expect(fs.readFileSync(path.join(certs, "local.pem")).equals(cert)).toBe(true);
  expect(fs.readFileSync(path.join(certs, "local-key.pem")).equals(key)).toBe(true);
  expect(fs.existsSync(path.join(root, "ca"))).toBe(false);
});

test("without mkcert installed it fails with how to install it, and writes nothing", async () => {
  const empty = path.join(root, "bin-without-mkcert");
  fs.mkdirSync(empty);
  fs.symlinkSync("/bin/sh", path.join(empty, "sh")); // the command line is `sh -s -- ...`
  const result = runOnHost(await registered(), { ...env, PATH: empty });
  expect(result.status).toBe(1);
  expect(result.stderr).toBe("mkcert: mkcert is not installed (apt install mkcert / brew install mkcert)\n");
  expect(fs.existsSync(certs)).toBe(false);
});

maybe("prints the certificate's checksum, the same on every run, for Traefik to restart on", async () => {
  const cmd = await registered();
  const first = runOnHost(cmd);
  const cksum = execFileSync("sh", ["-c", `cksum < '${path.join(certs, "local.pem")}' | cut -d ' ' -f 1`], {
    encoding: "utf8",
  }).trim();
  expect(first.stdout.trim().split("\n").pop()).toBe(`mkcert: fingerprint ${cksum}`);
  expect(runOnHost(cmd).stdout.trim().split("\n").pop()).toBe(`mkcert: fingerprint ${cksum}`);
});

maybe("a kept certificate that does not cover a new domain stops the run and says what to delete", async () => {
  expect(runOnHost(await registered()).status).toBe(0);
  const cert = path.join(certs, "local.pem");
  const key = path.join(certs, "local-key.pem");
  const withCrm = await runComponents(
    () => new LocalCertificates("local-certs", { certsDir: certs, domains: [...DOMAINS, "api.crm.local"] }),
  );
  const cmd = withCrm.get(T.localCommand, "local-certs-mkcert");
  const result = runOnHost({ create: cmd.inputs.create as string, stdin: cmd.inputs.stdin as string });
  expect(result.status).toBe(1);
  expect(result.stderr).toBe(
    `mkcert: ${cert} does not cover api.crm.local; delete ${cert} and ${key}, then run pulumi up again\n`,
  );
});

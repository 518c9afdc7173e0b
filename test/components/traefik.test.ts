/**
 * The Traefik component alone: the traefik.yml it uploads, the dynamic files its host command writes (RUN for
 * real into a temporary folder), its mounts for ACME and for mkcert, its ports, the dashboard's router.
 */
import * as fs from "fs";
import * as path from "path";
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { Traefik, TraefikArgs } from "../../components/traefik";
import { htpasswdEntry } from "../../components/traefikDashboard";
import {
  ComponentRun,
  isSecretEnvelope,
  isSecretInput,
  labelMap,
  plainInput,
  runComponents,
  runRecordedCommand,
  stubSsh,
  T,
  tempDir,
  unwrap,
  urnOf,
  validateDynamic,
  validateStatic,
} from "../support";
import { mountAt, mountsOf, shellWords, uploadedFile } from "../stacks/helpers";
import { typeOfUrn } from "../stacks/invariants";

const ROOT = tempDir("traefik-component");
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

const IDENTITY = { "com.ems.service": "traefik", "com.ems.environment": "production", "com.ems.system": "ems_system" };
const BASE = {
  image: "traefik:v3.6.1",
  containerName: "infra_traefik",
  rateLimit: { average: 100, burst: 200 },
  memoryMb: 256,
  identity: IDENTITY,
  dockerEndpoint: "tcp://infra_socket_proxy:2375",
  systems: ["ems_system"],
  extraNetworks: ["infra_socket_proxy_net"],
};
const ACME = (dynamicDir: string): TraefikArgs => ({
  ...BASE,
  network: "ems_system_net",
  externalNetwork: true,
  listen: ["0.0.0.0", "::"],
  adminNetwork: "infra_portainer_net",
  dynamicDir,
  tls: {
    mode: "acme",
    email: "admin@edumigsoft.com.br",
    storageDir: "/root/infra/letsencrypt",
    storageFile: "ems_system.json",
    resolver: "ems_system_resolver",
  },
});
const MKCERT = (dynamicDir: string): TraefikArgs => ({
  ...BASE,
  network: "ems_system_net",
  externalNetwork: false,
  listen: ["127.0.0.1"],
  dynamicDir,
  tls: { mode: "mkcert", certsDir: "/home/dev/Projects/Working/ems_system/servers/infra/certs" },
});
const DASHBOARD_PASSWORD = "dashboard-Password-0123";
const SALT = "abcdefghijklmnopqrstuu";

const staticOf = (run: ComponentRun<Traefik>) =>
  YAML.parse(uploadedFile(run.get(T.container, "traefik"), "/etc/traefik/traefik.yml"));
const writerOf = (run: ComponentRun<Traefik>) => run.get(T.localCommand, "traefik-dynamic-config");

/** Runs the dynamic-config command as the provider would, and returns the folder's files (content, mode). */
function writeDynamic(run: ComponentRun<Traefik>, dir: string): Record<string, { content: string; mode: string }> {
  const result = runRecordedCommand(writerOf(run), { cwd: ROOT });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return Object.fromEntries(
    fs.readdirSync(dir).map((f) => [
      f,
      {
        content: fs.readFileSync(path.join(dir, f), "utf8"),
        mode: (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8),
      },
    ]),
  );
}
/** What the file provider serves: the folder's files merged, as Traefik merges them. */
const merged = (files: Record<string, { content: string }>) => {
  const docs = Object.values(files).map((f) => YAML.parse(f.content));
  return {
    tls: docs.find((d) => d.tls)?.tls,
    http: {
      middlewares: Object.assign({}, ...docs.map((d) => d.http?.middlewares ?? {})),
      routers: Object.assign({}, ...docs.map((d) => d.http?.routers ?? {})),
    },
  };
};

const ACME_DIR = path.join(ROOT, "acme", "infra", "traefik", "dynamic");
const MKCERT_DIR = path.join(ROOT, "mkcert dir", "dynamic");
let acme: ComponentRun<Traefik>;
let mkcert: ComponentRun<Traefik>;
let acmeFiles: Record<string, { content: string; mode: string }>;
let mkcertFiles: Record<string, { content: string; mode: string }>;
beforeAll(async () => {
  acme = await runComponents(() => new Traefik("traefik", ACME(ACME_DIR)));
  mkcert = await runComponents(() => new Traefik("traefik", MKCERT(MKCERT_DIR)));
  acmeFiles = writeDynamic(acme, ACME_DIR);
  mkcertFiles = writeDynamic(mkcert, MKCERT_DIR);
});

describe.each([
  ["ACME", () => ({ run: acme, files: acmeFiles, dir: ACME_DIR })],
  ["mkcert", () => ({ run: mkcert, files: mkcertFiles, dir: MKCERT_DIR })],
] as const)("%s", (_mode, get) => {
  test("entrypoint web (:80) redirects permanently to websecure (:443) over https", () => {
    const entryPoints = staticOf(get().run).entryPoints;
    expect(entryPoints.web).toEqual({
      address: ":80",
      http: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } },
    });
    expect(entryPoints.websecure.address).toBe(":443");
  });

  test("the docker provider reads the socket proxy (no socket mount), only this system's containers, exposes nothing by default, routes on the proxy network; the file provider watches the dynamic folder", () => {
    const providers = staticOf(get().run).providers;
    expect(providers.docker).toEqual({
      endpoint: "tcp://infra_socket_proxy:2375",
      exposedByDefault: false,
      network: "ems_system_net",
      constraints: "Label(`com.ems.system`, `ems_system`)",
    });
    expect(providers.file).toEqual({ directory: "/etc/traefik/dynamic", watch: true });
    const c = get().run.get(T.container, "traefik");
    expect(mountsOf(c).map((m) => m.source)).not.toContain("/var/run/docker.sock");
    expect(mountAt(c, "/etc/traefik/dynamic")).toEqual({
      type: "bind",
      source: get().dir,
      target: "/etc/traefik/dynamic",
      readOnly: true,
    });
  });

  test("the dynamic files are written on the host (tls.yml, middlewares.yml, mode 644), never uploaded; each valid on its own", () => {
    const { files, run } = get();
    expect(Object.keys(files).sort()).toEqual(["middlewares.yml", "tls.yml"]);
    for (const f of Object.values(files)) {
      expect(f.mode).toBe("644");
      expect(validateDynamic(YAML.parse(f.content))).toEqual([]);
    }
    expect((run.get(T.container, "traefik").inputs.uploads as { file: string }[]).map((u) => u.file)).toEqual([
      "/etc/traefik/traefik.yml",
    ]);
  });

  test("the middlewares every API router names: retry (3 attempts), security headers, the configured rate limit; the admin routers' throttle", () => {
    const middlewares = YAML.parse(get().files["middlewares.yml"].content).http.middlewares;
    expect(Object.keys(middlewares).sort()).toEqual([
      "admin-ratelimit",
      "api-ratelimit",
      "api-retry",
      "security-headers",
    ]);
    expect(middlewares["admin-ratelimit"]).toEqual({ rateLimit: { average: 5, burst: 50 } });
    expect(middlewares["api-retry"]).toEqual({ retry: { attempts: 3, initialInterval: "100ms" } });
    expect(middlewares["api-ratelimit"]).toEqual({ rateLimit: { average: 100, burst: 200 } });
    expect(middlewares["security-headers"].headers).toMatchObject({
      stsSeconds: 31536000,
      contentTypeNosniff: true,
      frameDeny: true,
    });
  });

  test("the uploaded traefik.yml follows Traefik v3's schema and is the staticConfig output", async () => {
    expect(validateStatic(staticOf(get().run))).toEqual([]);
    expect(await unwrap(get().run.result.staticConfig)).toBe(
      uploadedFile(get().run.get(T.container, "traefik"), "/etc/traefik/traefik.yml"),
    );
  });

  test("container: named infra_traefik, pinned image by digest, health by ping, replaced delete-first, after the files are written", async () => {
    const c = get().run.get(T.container, "traefik");
    expect(c.inputs.name).toBe("infra_traefik");
    expect(get().run.get(T.image, "traefik-image").inputs).toEqual({ name: "traefik:v3.6.1", keepLocally: true });
    expect(c.inputs.image).toMatch(/^traefik@sha256:[0-9a-f]{64}$/);
    expect(c.inputs.healthcheck.tests).toEqual(["CMD", "traefik", "healthcheck", "--ping"]);
    expect(staticOf(get().run).ping).toEqual({});
    expect(c.opts.deleteBeforeReplace).toBe(true);
    expect(c.inputs).toMatchObject({
      destroyGraceSeconds: 15,
      stopTimeout: 15,
      memory: 256,
      memorySwap: 256,
      restart: "unless-stopped",
    });
    expect(labelMap(c)).toEqual(IDENTITY);
    const deps = await Promise.all(((c.opts.dependsOn ?? []) as pulumi.Resource[]).map(urnOf));
    expect(deps.map((urn) => `${typeOfUrn(urn)}::${urn.split("::").pop()}`)).toEqual([
      `${T.localCommand}::traefik-dynamic-config`,
    ]);
  });

  test("the dashboard is off when no dashboard is given: no dashboard.yml", () => {
    expect(staticOf(get().run).api).toEqual({ dashboard: false });
    expect(get().files).not.toHaveProperty("dashboard.yml");
  });
});

describe("ACME (prod)", () => {
  test("the VPS's resolver over the HTTP challenge, keeping its certificates in ems_system.json of the mounted folder", () => {
    expect(staticOf(acme).certificatesResolvers).toEqual({
      ems_system_resolver: {
        acme: {
          email: "admin@edumigsoft.com.br",
          storage: "/letsencrypt/ems_system.json",
          httpChallenge: { entryPoint: "web" },
        },
      },
    });
    expect(staticOf(acme).entryPoints.websecure.http.tls).toEqual({ certResolver: "ems_system_resolver" });
    expect(mountAt(acme.get(T.container, "traefik"), "/letsencrypt")).toEqual({
      type: "bind",
      source: "/root/infra/letsencrypt",
      target: "/letsencrypt",
    });
  });

  test("no mkcert files: no certificate, no /certs mount; unknown SNI refused", () => {
    const tls = YAML.parse(acmeFiles["tls.yml"].content).tls;
    expect(tls.certificates).toBeUndefined();
    expect(mountsOf(acme.get(T.container, "traefik")).map((m) => m.target)).toEqual([
      "/etc/traefik/dynamic",
      "/letsencrypt",
    ]);
    expect(tls.options.default).toEqual({ minVersion: "VersionTLS12", sniStrict: true });
  });

  test("80 and 443 on every IPv4 and IPv6 address; the existing network is joined, not created; the admin network is made for Traefik and Portainer", async () => {
    expect(acme.get(T.container, "traefik").inputs.ports).toEqual([
      { internal: 80, external: 80, ip: "0.0.0.0" },
      { internal: 80, external: 80, ip: "::" },
      { internal: 443, external: 443, ip: "0.0.0.0" },
      { internal: 443, external: 443, ip: "::" },
    ]);
    expect(acme.ofType(T.network).map((n) => n.inputs)).toEqual([{ name: "infra_portainer_net", driver: "bridge" }]);
    expect(acme.get(T.container, "traefik").inputs.networksAdvanced).toEqual([
      { name: "ems_system_net" },
      { name: "infra_socket_proxy_net" },
      { name: "infra_portainer_net" },
    ]);
    expect(await unwrap(acme.result.networkName)).toBe("ems_system_net");
  });
});

describe("mkcert (dev)", () => {
  test("local.pem / local-key.pem from the read-only certs mount are the default certificate; no ACME resolver", () => {
    const certificate = { certFile: "/certs/local.pem", keyFile: "/certs/local-key.pem" };
    const tls = YAML.parse(mkcertFiles["tls.yml"].content).tls;
    expect(tls.certificates).toEqual([certificate]);
    expect(tls.stores).toEqual({ default: { defaultCertificate: certificate } });
    expect(staticOf(mkcert).certificatesResolvers).toBeUndefined();
    expect(staticOf(mkcert).entryPoints.websecure.http.tls).toEqual({});
    expect(mountAt(mkcert.get(T.container, "traefik"), "/certs")).toEqual({
      type: "bind",
      source: "/home/dev/Projects/Working/ems_system/servers/infra/certs",
      target: "/certs",
      readOnly: true,
    });
  });

  test("80 and 443 on the listen address only (the laptop's loopback); the proxy network is created", () => {
    expect(mkcert.get(T.container, "traefik").inputs.ports).toEqual([
      { internal: 80, external: 80, ip: "127.0.0.1" },
      { internal: 443, external: 443, ip: "127.0.0.1" },
    ]);
    expect(mkcert.get(T.network, "traefik-network").inputs).toEqual({ name: "ems_system_net", driver: "bridge" });
  });

  test("a new certificate rewrites tls.yml (so the file provider reloads it) and leaves the container as it is", async () => {
    const dir = path.join(ROOT, "fingerprint", "dynamic");
    const run = await runComponents(
      () => new Traefik("traefik", { ...MKCERT(dir), certificateFingerprint: "27452994" }),
    );
    const files = writeDynamic(run, dir);
    expect(files["tls.yml"].content.startsWith("# certificate fingerprint 27452994\n")).toBe(true);
    expect(YAML.parse(files["tls.yml"].content)).toEqual(YAML.parse(mkcertFiles["tls.yml"].content));
    const { mounts: a, ...changed } = plainInput(run.get(T.container, "traefik").inputs);
    const { mounts: b, ...same } = plainInput(mkcert.get(T.container, "traefik").inputs);
    expect(changed).toEqual(same);
    expect(a.filter((m: { target: string }) => m.target !== "/etc/traefik/dynamic")).toEqual(
      b.filter((m: { target: string }) => m.target !== "/etc/traefik/dynamic"),
    );
  });
});

test("a new rate limit changes only the written files: the container (and so the proxy) keeps running", async () => {
  const run = await runComponents(
    () => new Traefik("traefik", { ...ACME(ACME_DIR), rateLimit: { average: 20, burst: 40 } }),
  );
  expect(run.get(T.container, "traefik").inputs).toEqual(acme.get(T.container, "traefik").inputs);
  expect(plainInput(writerOf(run).inputs.stdin)).not.toEqual(plainInput(writerOf(acme).inputs.stdin));
  expect(plainInput(writerOf(run).inputs.stdin)).toContain("average: 20\n");
});

describe("the dashboard with basic auth (prod)", () => {
  const dir = path.join(ROOT, "dashboard", "dynamic");
  let run: ComponentRun<Traefik>;
  let files: Record<string, { content: string; mode: string }>;
  beforeAll(async () => {
    run = await runComponents(
      () =>
        new Traefik("traefik", {
          ...ACME(dir),
          dashboard: {
            host: "traefik.edumigsoft.com.br",
            certResolver: "ems_system_resolver",
            auth: { user: "admin", password: pulumi.secret(DASHBOARD_PASSWORD), salt: SALT },
          },
        }),
    );
    files = writeDynamic(run, dir);
  });

  test("dashboard.yml (mode 600): a router on its host to api@internal behind a bcrypt basic-auth user", () => {
    expect(files["dashboard.yml"].mode).toBe("600");
    const dashboard = YAML.parse(files["dashboard.yml"].content);
    expect(validateDynamic(dashboard)).toEqual([]);
    expect(dashboard.http.routers.dashboard).toEqual({
      rule: "Host(`traefik.edumigsoft.com.br`)",
      entryPoints: ["websecure"],
      service: "api@internal",
      tls: { certResolver: "ems_system_resolver" },
      middlewares: ["security-headers@file", "admin-ratelimit@file", "dashboard-auth"],
    });
    const [entry] = dashboard.http.middlewares["dashboard-auth"].basicAuth.users;
    expect(entry).toBe(htpasswdEntry("admin", DASHBOARD_PASSWORD, SALT));
    expect(bcrypt.compareSync(DASHBOARD_PASSWORD, entry.slice("admin:".length))).toBe(true);
    expect(staticOf(run).api).toEqual({ dashboard: true });
    expect(validateDynamic(merged(files))).toEqual([]);
  });

  test("the password never reaches an input; the hash only inside the command's secret stdin and the secret dynamicFiles output", async () => {
    const writer = writerOf(run);
    expect(await isSecretInput(writer.props.stdin)).toBe(true);
    expect(writer.opts.additionalSecretOutputs).toContain("stdin");
    const hash = htpasswdEntry("admin", DASHBOARD_PASSWORD, SALT);
    expect(plainInput(writer.inputs.stdin)).toContain(hash);
    for (const r of run.resources) {
      const wire = JSON.stringify(r.inputs, (_k, v) => (isSecretEnvelope(v) ? "<secret>" : v));
      expect(wire).not.toContain(DASHBOARD_PASSWORD);
      expect(wire).not.toContain(hash);
    }
    expect(await isSecretInput(run.result.dynamicFiles)).toBe(true);
    // The dashboard is no longer routed by labels on the container: only its identity.
    expect(labelMap(run.get(T.container, "traefik"))).toEqual(IDENTITY);
  });
});

test("with an SSH connection: the files are written on the host through ssh (run with a stub ssh that runs the remote command here)", async () => {
  const dir = path.join(ROOT, "over ssh", "dynamic");
  const connection = {
    host: "vps.edumigsoft.com.br",
    user: "root",
    port: 22,
    knownHostsFile: "/root/.ssh/known_hosts",
  };
  const run = await runComponents(() => new Traefik("traefik", { ...ACME(dir), connection }));
  expect(run.ofType(T.remoteCommand)).toEqual([]);
  const writer = writerOf(run);
  expect(shellWords(writer.inputs.create).slice(-3)).toEqual(["--", "root@vps.edumigsoft.com.br", "sh -s"]);
  const ssh = stubSsh(path.join(ROOT, "ssh-stub"));
  const result = runRecordedCommand(writer, { pathPrefix: ssh.binDir, cwd: ROOT });
  expect(result.status).toBe(0);
  expect(ssh.calls()).toHaveLength(1);
  expect(fs.readdirSync(dir).sort()).toEqual(["middlewares.yml", "tls.yml"]);
  expect(fs.readFileSync(path.join(dir, "middlewares.yml"), "utf8")).toBe(acmeFiles["middlewares.yml"].content);
});

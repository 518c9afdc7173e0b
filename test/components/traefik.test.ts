/** The Traefik component alone: the traefik.yml it uploads, its mounts for ACME and for mkcert, its ports. */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { Traefik, TraefikArgs } from "../../components/traefik";
import { ComponentRun, runComponents } from "../support/componentHarness";
import { T, isSecretInput, labelMap, unwrap } from "../support/stackHarness";
import { validateDynamic, validateStatic } from "../support/traefikSchemas";
import { mountAt, mountsOf, uploadedFile } from "../stacks/helpers";

const BASE = { image: "traefik:v3.3.5", network: "proxy", rateLimit: { average: 100, burst: 200 }, memoryMb: 256 };
const ACME: TraefikArgs = { ...BASE, tls: { mode: "acme", email: "admin@edumigsoft.com.br", storageDir: "/root/infra/letsencrypt" } };
const MKCERT: TraefikArgs = { ...BASE, tls: { mode: "mkcert", certsDir: "/home/dev/Projects/Working/ems_system/servers/infra/certs" } };

const staticOf = (run: ComponentRun<Traefik>) => YAML.parse(uploadedFile(run.get(T.container, "traefik"), "/etc/traefik/traefik.yml"));
/** What the file provider serves: tls.yml and middlewares.yml merged, as Traefik merges its dynamic folder. */
const dynamicOf = (run: ComponentRun<Traefik>) => {
  const container = run.get(T.container, "traefik");
  return { ...YAML.parse(uploadedFile(container, "/etc/traefik/dynamic/middlewares.yml")), ...YAML.parse(uploadedFile(container, "/etc/traefik/dynamic/tls.yml")) };
};

let acme: ComponentRun<Traefik>;
let mkcert: ComponentRun<Traefik>;
beforeAll(async () => {
  acme = await runComponents(() => new Traefik("traefik", ACME));
  mkcert = await runComponents(() => new Traefik("traefik", MKCERT));
});

describe.each([
  ["ACME", () => acme],
  ["mkcert", () => mkcert],
] as const)("%s", (_mode, run) => {
  test("entrypoint web (:80) redirects permanently to websecure (:443) over https", () => {
    const entryPoints = staticOf(run()).entryPoints;
    expect(entryPoints.web).toEqual({ address: ":80", http: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } } });
    expect(entryPoints.websecure.address).toBe(":443");
  });

  test("the docker provider exposes nothing by default, reads the read-only socket, and routes on the proxy network", () => {
    const providers = staticOf(run()).providers;
    expect(providers.docker).toEqual({ endpoint: "unix:///var/run/docker.sock", exposedByDefault: false, network: "proxy" });
    expect(providers.file).toEqual({ directory: "/etc/traefik/dynamic", watch: true });
    expect(mountAt(run().get(T.container, "traefik"), "/var/run/docker.sock").readOnly).toBe(true);
  });

  test("the uploaded traefik.yml and dynamic file follow Traefik v3's schemas", () => {
    expect(validateStatic(staticOf(run()))).toEqual([]);
    expect(validateDynamic(dynamicOf(run()))).toEqual([]);
  });

  test("the staticConfig output is exactly the uploaded traefik.yml", async () => {
    expect(await unwrap(run().result.staticConfig)).toBe(uploadedFile(run().get(T.container, "traefik"), "/etc/traefik/traefik.yml"));
  });

  test("container: named traefik, ports 80/443, pinned image by digest, health by ping, deleted before its replacement", () => {
    const c = run().get(T.container, "traefik");
    expect(c.inputs.name).toBe("traefik");
    expect(c.inputs.ports).toEqual([{ internal: 80, external: 80 }, { internal: 443, external: 443 }]);
    expect(run().get(T.image, "traefik-image").inputs).toEqual({ name: "traefik:v3.3.5", keepLocally: true });
    expect(c.inputs.image).toMatch(/^traefik@sha256:[0-9a-f]{64}$/);
    expect(c.inputs.healthcheck.tests).toEqual(["CMD", "traefik", "healthcheck", "--ping"]);
    expect(staticOf(run()).ping).toEqual({});
    expect(c.opts.deleteBeforeReplace).toBe(true);
    expect(run().get(T.network, "traefik-network").inputs).toEqual({ name: "proxy", driver: "bridge" });
  });

  test("the dashboard is off and no router is defined by labels when no dashboard is given", () => {
    expect(staticOf(run()).api).toEqual({ dashboard: false });
    expect(run().get(T.container, "traefik").inputs.labels).toEqual([]);
  });
});

describe("ACME (prod)", () => {
  test("a Let's Encrypt resolver over the HTTP challenge stores acme.json in the mounted storage folder", () => {
    expect(staticOf(acme).certificatesResolvers).toEqual({
      letsencrypt: { acme: { email: "admin@edumigsoft.com.br", storage: "/letsencrypt/acme.json", httpChallenge: { entryPoint: "web" } } },
    });
    expect(staticOf(acme).entryPoints.websecure.http.tls).toEqual({ certResolver: "letsencrypt" });
    expect(mountAt(acme.get(T.container, "traefik"), "/letsencrypt")).toEqual({ type: "bind", source: "/root/infra/letsencrypt", target: "/letsencrypt" });
  });

  test("no mkcert files: no certificate in the dynamic file, no /certs mount; unknown SNI is refused", () => {
    expect(dynamicOf(acme).tls.certificates).toBeUndefined();
    expect(mountsOf(acme.get(T.container, "traefik")).map((m) => m.target)).toEqual(["/var/run/docker.sock", "/letsencrypt"]);
    expect(dynamicOf(acme).tls.options.default).toEqual({ minVersion: "VersionTLS12", sniStrict: true });
  });
});

describe("mkcert (dev)", () => {
  test("local.pem / local-key.pem from the read-only certs mount are the default certificate; no ACME resolver", () => {
    const certificate = { certFile: "/certs/local.pem", keyFile: "/certs/local-key.pem" };
    expect(dynamicOf(mkcert).tls.certificates).toEqual([certificate]);
    expect(dynamicOf(mkcert).tls.stores).toEqual({ default: { defaultCertificate: certificate } });
    expect(staticOf(mkcert).certificatesResolvers).toBeUndefined();
    expect(staticOf(mkcert).entryPoints.websecure.http.tls).toEqual({});
    expect(mountsOf(mkcert.get(T.container, "traefik")).map((m) => m.target)).toEqual(["/var/run/docker.sock", "/certs"]);
    expect(mountAt(mkcert.get(T.container, "traefik"), "/certs")).toEqual({ type: "bind", source: "/home/dev/Projects/Working/ems_system/servers/infra/certs", target: "/certs", readOnly: true });
  });
});

test("the dashboard, when on, is a basic-auth router on its host whose labels are a secret", async () => {
  const password = "dashboard-Password-123";
  const run = await runComponents(() => new Traefik("traefik", { ...ACME, dashboard: { host: "traefik.edumigsoft.com.br", user: "admin", password: pulumi.secret(password) } }));
  const c = run.get(T.container, "traefik");
  expect(await isSecretInput(c.props.labels)).toBe(true);
  const labels = labelMap({ ...c, inputs: { labels: (c.inputs.labels as { value: unknown }).value ?? c.inputs.labels } });
  const sha = crypto.createHash("sha1").update(password).digest("base64");
  expect(labels).toEqual({
    "traefik.enable": "true",
    "traefik.http.routers.dashboard.rule": "Host(`traefik.edumigsoft.com.br`)",
    "traefik.http.routers.dashboard.entrypoints": "websecure",
    "traefik.http.routers.dashboard.tls": "true",
    "traefik.http.routers.dashboard.service": "api@internal",
    "traefik.http.routers.dashboard.middlewares": "dashboard-auth",
    "traefik.http.middlewares.dashboard-auth.basicauth.users": `admin:{SHA}${sha}`,
  });
  expect(staticOf(run).api).toEqual({ dashboard: true });
});

test("a new mkcert certificate restarts Traefik: its checksum is a label of the container", async () => {
  const run = await runComponents(() => new Traefik("traefik", { ...MKCERT, certificateFingerprint: "27452994" }));
  expect(labelMap(run.get(T.container, "traefik"))["ems-infra.certificate"]).toBe("27452994");
  expect(labelMap(mkcert.get(T.container, "traefik"))["ems-infra.certificate"]).toBeUndefined();
});

test("the dynamic folder holds the seed's tls.yml and a middlewares.yml, each valid on its own", () => {
  const container = mkcert.get(T.container, "traefik");
  const files = (container.inputs.uploads as { file: string }[]).map((u) => u.file);
  expect(files).toEqual(["/etc/traefik/traefik.yml", "/etc/traefik/dynamic/tls.yml", "/etc/traefik/dynamic/middlewares.yml"]);
  const tls = YAML.parse(uploadedFile(container, "/etc/traefik/dynamic/tls.yml"));
  const middlewares = YAML.parse(uploadedFile(container, "/etc/traefik/dynamic/middlewares.yml"));
  expect(Object.keys(tls)).toEqual(["tls"]);
  expect(Object.keys(middlewares.http.middlewares)).toEqual(["security-headers", "api-ratelimit"]);
  expect(validateDynamic(tls)).toEqual([]);
  expect(validateDynamic(middlewares)).toEqual([]);
});

/**
 * The ApiService component alone, with the real EMS server's values: its Traefik labels (the same for every
 * version), credentials only in the uploaded secrets file, the ems-run probe, and the replacement options.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ApiService, ApiServiceArgs, traefikLabels } from "../../components/apiService";
import { emsRunBase64, probeHealthcheckTests } from "../../components/probe";
import {
  ComponentRun,
  envMap,
  isSecretInput,
  labelMap,
  labelsToDynamicConfig,
  plainInput,
  runComponents,
  T,
  unwrap,
  validateDynamic,
} from "../support";
import { mountAt, secretsOf } from "../stacks/helpers";

const SECRETS = {
  JWT_KEY: "jwt-ems-0123456789abcdefghijklmnopqrstuv",
  API_KEY: "api-ems-0123456789ab",
  DB_PASS: "db-Pass'word $HOME 0123",
  EMAIL_SERVICE_API_KEY: "re_email_0123456789",
};
const ENV = (version: string): Record<string, string> => ({
  DB_HOST: "ems_system-postgres",
  DB_PORT: "5432",
  DB_USER: "ems_user",
  DB_NAME: "ems_production",
  VERIFICATION_LINK_BASE_URL: "https://api.ems.edumigsoft.com.br/api/v1/auth/verify",
  ENV: "production",
  ENVIRONMENT: "production",
  APP_VERSION: version,
  UPLOAD_PATH: "/app/uploads",
  HOME: "/app",
});

const ARGS = (version = "1.2.1"): ApiServiceArgs => ({
  image: "ghcr.io/edumigsoft/ems-server",
  version,
  imageSource: "registry",
  routerName: "ems-system-ems",
  host: "api.ems.edumigsoft.com.br",
  port: 8181,
  healthPath: "/api/v1/health",
  health: { timeoutSeconds: 120, intervalSeconds: 60, startIntervalSeconds: 2 },
  certResolver: "ems_system_resolver",
  identity: { "com.ems.service": "ems", "com.ems.environment": "production" },
  command: ["/app/bin/server"],
  env: ENV(version),
  secrets: Object.fromEntries(Object.entries(SECRETS).map(([k, v]) => [k, pulumi.secret(v)])),
  uploadsHostPath: "/root/ems_system/data/uploads/ems",
  uploadsDir: "/app/uploads",
  logsHostPath: "/root/ems_system/data/logs/ems",
  logsDir: "/app/Documents/MeuAppDart/logs",
  proxyNetwork: "ems_system_net",
  dbNetwork: "ems_system_db",
  memoryMb: 512,
});

const ROUTER = "traefik.http.routers.ems-system-ems";

describe("traefikLabels", () => {
  test("exact labels of an ACME router (prod: the VPS's resolver, the EMS server's port 8181)", () => {
    expect(
      traefikLabels({
        routerName: "ems-system-ems",
        host: "api.ems.edumigsoft.com.br",
        port: 8181,
        certResolver: "ems_system_resolver",
        network: "ems_system_net",
      }),
    ).toEqual({
      "traefik.enable": "true",
      "traefik.docker.network": "ems_system_net",
      [`${ROUTER}.rule`]: "Host(`api.ems.edumigsoft.com.br`)",
      [`${ROUTER}.entrypoints`]: "websecure",
      [`${ROUTER}.tls`]: "true",
      [`${ROUTER}.tls.certresolver`]: "ems_system_resolver",
      // The retry middleware first: a request that hit the container being removed goes to the other one.
      [`${ROUTER}.middlewares`]: "api-retry@file,security-headers@file,api-ratelimit@file",
      [`${ROUTER}.service`]: "ems-system-ems",
      "traefik.http.services.ems-system-ems.loadbalancer.server.port": "8181",
    });
  });

  test("exact labels of an mkcert router (dev: SMS on 8080, TLS from the file certificate, no resolver)", () => {
    expect(
      traefikLabels({ routerName: "ems-system-sms", host: "api.sms.local", port: 8080, network: "ems_system_net" }),
    ).toEqual({
      "traefik.enable": "true",
      "traefik.docker.network": "ems_system_net",
      "traefik.http.routers.ems-system-sms.rule": "Host(`api.sms.local`)",
      "traefik.http.routers.ems-system-sms.entrypoints": "websecure",
      "traefik.http.routers.ems-system-sms.tls": "true",
      "traefik.http.routers.ems-system-sms.middlewares": "api-retry@file,security-headers@file,api-ratelimit@file",
      "traefik.http.routers.ems-system-sms.service": "ems-system-sms",
      "traefik.http.services.ems-system-sms.loadbalancer.server.port": "8080",
    });
  });

  test("the labels are valid Traefik v3 dynamic configuration", () => {
    const labels = traefikLabels({
      routerName: "ems-system-ems",
      host: "api.ems.edumigsoft.com.br",
      port: 8181,
      certResolver: "ems_system_resolver",
      network: "ems_system_net",
    });
    expect(validateDynamic(labelsToDynamicConfig(labels))).toEqual([]);
  });
});

describe("two versions of the same service", () => {
  let run: ComponentRun<ApiService[]>;
  beforeAll(async () => {
    run = await runComponents(() => [
      new ApiService("ems-old", ARGS("1.2.0")),
      new ApiService("ems-new", ARGS("1.2.1")),
    ]);
  });

  test("carry identical labels, so Traefik balances one router over both during a deploy", () => {
    const old = labelMap(run.get(T.container, "ems-old"));
    expect(Object.keys(old).length).toBe(11);
    expect(labelMap(run.get(T.container, "ems-new"))).toEqual(old);
  });

  test("differ only in their image and APP_VERSION", () => {
    expect(run.get(T.image, "ems-old-image").inputs.name).toBe("ghcr.io/edumigsoft/ems-server:1.2.0");
    expect(run.get(T.image, "ems-new-image").inputs.name).toBe("ghcr.io/edumigsoft/ems-server:1.2.1");
    const { image: a, envs: envsOld, ...old } = plainInput(run.get(T.container, "ems-old").inputs);
    const { image: b, envs: envsNew, ...next } = plainInput(run.get(T.container, "ems-new").inputs);
    expect(a).not.toBe(b);
    expect(next).toEqual(old);
    expect(envsOld.filter((e: string) => !envsNew.includes(e))).toEqual(["APP_VERSION=1.2.0"]);
  });
});

describe("the container (registry image)", () => {
  let run: ComponentRun<ApiService>;
  beforeAll(async () => {
    run = await runComponents(() => new ApiService("ems", ARGS()));
  });

  test("the image is pulled once, kept for rollbacks, and run by digest (exposed as imageRef); the url is https://<host>", async () => {
    const c = run.get(T.container, "ems");
    expect(run.get(T.image, "ems-image").inputs).toEqual({
      name: "ghcr.io/edumigsoft/ems-server:1.2.1",
      keepLocally: true,
    });
    expect(c.inputs.image).toMatch(/^ghcr\.io\/edumigsoft\/ems-server@sha256:[0-9a-f]{64}$/);
    expect(await unwrap(run.result.imageRef)).toBe(c.inputs.image);
    expect(await unwrap(run.result.url)).toBe("https://api.ems.edumigsoft.com.br");
  });

  test("ems-run is the entrypoint, the server's own command its argument", () => {
    const c = run.get(T.container, "ems");
    expect(c.inputs.entrypoints).toEqual(["/run/ems/ems-run"]);
    expect(c.inputs.command).toEqual(["/app/bin/server"]);
  });

  test("no credential in envs: the plain environment exactly, sorted, not even a secret", async () => {
    const c = run.get(T.container, "ems");
    expect(await isSecretInput(c.props.envs)).toBe(false);
    expect(c.inputs.envs).toEqual(
      Object.keys(ENV("1.2.1"))
        .sort()
        .map((k) => `${k}=${ENV("1.2.1")[k]}`),
    );
    const text = JSON.stringify(c.inputs.envs);
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(text).not.toContain(value);
      expect(envMap(c)).not.toHaveProperty(name);
    }
  });

  test("uploads: the committed ems-run binary (executable) and /run/ems/secrets.env holding the credentials, a secret", async () => {
    const c = run.get(T.container, "ems");
    const uploads = plainInput<{ file: string; content?: string; contentBase64?: string; executable?: boolean }[]>(
      c.inputs.uploads,
    );
    expect(uploads.map((u) => u.file)).toEqual(["/run/ems/ems-run", "/run/ems/secrets.env"]);
    expect(uploads[0]).toEqual({ file: "/run/ems/ems-run", contentBase64: emsRunBase64(), executable: true });
    expect(crypto.createHash("sha256").update(Buffer.from(uploads[0].contentBase64!, "base64")).digest("hex")).toBe(
      crypto.createHash("sha256").update(Buffer.from(emsRunBase64(), "base64")).digest("hex"),
    );
    expect(uploads[1].content).toBe(
      `API_KEY=${SECRETS.API_KEY}\nDB_PASS=${SECRETS.DB_PASS}\nEMAIL_SERVICE_API_KEY=${SECRETS.EMAIL_SERVICE_API_KEY}\nJWT_KEY=${SECRETS.JWT_KEY}\n`,
    );
    expect(secretsOf(c)).toEqual(SECRETS);
    expect(await isSecretInput(c.props.uploads)).toBe(true);
    // The engine receives the file inside a secret envelope, and stores the uploads output as a secret too.
    expect(JSON.stringify(c.inputs.uploads)).toContain("4dabf18193072939515e22adb298388d");
    expect(c.opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["uploads"]));
  });

  test("healthcheck: ems-run's exec-form probe of /api/v1/health on 8181 (no shell in the image), at most one probe a minute once healthy", () => {
    const healthcheck = run.get(T.container, "ems").inputs.healthcheck;
    // ems-run's own flags may follow (components/probe owns them); the probe of the port and path comes first.
    expect(healthcheck.tests.slice(0, 5)).toEqual(["CMD", "/run/ems/ems-run", "--probe", "8181", "/api/v1/health"]);
    expect(healthcheck).toEqual({
      tests: probeHealthcheckTests(8181, "/api/v1/health"),
      // Go's spelling of 60 s and 120 s, the one the provider reads back (any other is a diff on every run).
      interval: "1m0s",
      startInterval: "2s",
      startPeriod: "2m0s",
      timeout: "5s",
      retries: 3,
    });
  });

  test("the health timings come from the arguments (tests and laptops make them short)", async () => {
    const quick = await runComponents(
      () =>
        new ApiService("ems", {
          ...ARGS(),
          health: { timeoutSeconds: 20, intervalSeconds: 3, startIntervalSeconds: 1 },
        }),
    );
    const c = quick.get(T.container, "ems");
    expect(c.inputs.healthcheck).toMatchObject({ interval: "3s", startInterval: "1s", startPeriod: "20s" });
    expect(c.inputs.waitTimeout).toBe(20);
  });

  test("pulumi up waits for healthy; the old container serves 30 s more; no name and no port, so two versions run side by side", () => {
    const c = run.get(T.container, "ems");
    expect(c.inputs.wait).toBe(true);
    expect(c.inputs.waitTimeout).toBe(120);
    expect(c.inputs.destroyGraceSeconds).toBe(30);
    expect(c.inputs.name).toBeUndefined();
    expect(c.inputs.ports).toBeUndefined();
  });

  test("replaced create-before-delete on any change (even after a failed health wait); the daemon's logOpts never read as a diff", () => {
    const { opts } = run.get(T.container, "ems");
    expect(opts.deleteBeforeReplace).toBe(false);
    expect(opts.replaceOnChanges).toEqual(["*"]);
    // startInterval and memorySwap follow the engine (ems-infra:engine): never ignored, a new engine replaces once.
    expect(opts.ignoreChanges).toEqual(["logOpts"]);
  });

  test("memory limit with swap at the same value, log rotation, hardening", () => {
    expect(run.get(T.container, "ems").inputs).toMatchObject({
      memory: 512,
      memorySwap: 512,
      restart: "unless-stopped",
      securityOpts: ["no-new-privileges:true"],
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
    });
  });

  test("mounts uploads at UPLOAD_PATH and logs where the server writes them ($HOME/Documents/MeuAppDart/logs); joins the proxy and database networks", () => {
    const c = run.get(T.container, "ems");
    expect(mountAt(c, "/app/uploads")).toEqual({
      type: "bind",
      source: "/root/ems_system/data/uploads/ems",
      target: "/app/uploads",
    });
    expect(mountAt(c, "/app/Documents/MeuAppDart/logs")).toEqual({
      type: "bind",
      source: "/root/ems_system/data/logs/ems",
      target: "/app/Documents/MeuAppDart/logs",
    });
    expect(c.inputs.networksAdvanced).toEqual([{ name: "ems_system_net" }, { name: "ems_system_db" }]);
  });

  test("labels: the Traefik router and the identity (com.ems.service, com.ems.environment)", () => {
    const labels = labelMap(run.get(T.container, "ems"));
    expect(labels["com.ems.service"]).toBe("ems");
    expect(labels["com.ems.environment"]).toBe("production");
    expect(labels[`${ROUTER}.rule`]).toBe("Host(`api.ems.edumigsoft.com.br`)");
    expect(labels["traefik.http.services.ems-system-ems.loadbalancer.server.port"]).toBe("8181");
  });
});

describe("a local image (built on this machine by dev.sh / docker build)", () => {
  const localArgs = (version: string): ApiServiceArgs => ({
    ...ARGS(version),
    image: "ems-server",
    version,
    imageSource: "local",
  });
  /** What the mocked getRemoteImage returns for an image name (test/support/mockRuntime.ts mockInvoke). */
  const imageIdOf = (name: string) => `sha256:${crypto.createHash("sha256").update(name).digest("hex")}`;

  test("is looked up, never pulled: no RemoteImage, the container runs the image id", async () => {
    const run = await runComponents(() => new ApiService("ems", localArgs("latest")));
    expect(run.ofType(T.image)).toEqual([]);
    const c = run.get(T.container, "ems");
    expect(c.inputs.image).toBe(imageIdOf("ems-server:latest"));
    expect(await unwrap(run.result.imageRef)).toBe(c.inputs.image);
  });

  test("another build (another id) changes the container's image, so it is redeployed", async () => {
    const a = await runComponents(() => new ApiService("ems", localArgs("latest")));
    const b = await runComponents(() => new ApiService("ems", localArgs("1.2.1-dev")));
    expect(b.get(T.container, "ems").inputs.image).toBe(imageIdOf("ems-server:1.2.1-dev"));
    expect(b.get(T.container, "ems").inputs.image).not.toBe(a.get(T.container, "ems").inputs.image);
  });
});

/**
 * The real servers' contract (edumigsoft/ems_system @ 6fc6f99, ../shared/reference/real-system.md §1.1–1.2) as both
 * committed stacks register it: images, ports, every variable the servers read by its real name, credentials only
 * in the secrets file ems-run loads, uploads and logs on the mounts, a health probe that needs nothing inside the
 * FROM scratch images, and one database role per service.
 */
import * as fs from "fs";
import * as path from "path";
import {
  committedConfig,
  envMap,
  labelMap,
  runStack,
  StackRun,
  T,
  TEST_SECRETS,
  SERVER_REQUIRED_ENV,
} from "../support";
import { hostCommandOf, mountAt, secretsOf, uploadedFile, withValue } from "./helpers";

const PROD_SECRETS = { ...TEST_SECRETS, "ems-infra:dashboardPassword": "dashboard-Password-0123" };
const prodConfig = (): Record<string, string> => ({ ...committedConfig("prod"), ...PROD_SECRETS });

const stacks: Record<"dev" | "prod", StackRun> = {} as Record<"dev" | "prod", StackRun>;
beforeAll(async () => {
  stacks.prod = await runStack("prod", prodConfig(), Object.keys(PROD_SECRETS));
  stacks.dev = await runStack("dev", committedConfig("dev"));
});

const REQUIRED = SERVER_REQUIRED_ENV;
const CREDENTIALS = ["JWT_KEY", "API_KEY", "DB_PASS"];

const expected = {
  prod: {
    domain: "edumigsoft.com.br",
    environment: "production",
    ems: { image: "ghcr.io/edumigsoft/ems-server:1.2.1", port: "8181", database: "ems_production", role: "ems_user" },
    sms: { image: "ghcr.io/edumigsoft/sms-server:1.1.0", port: "8080", database: "sms_production", role: "sms_user" },
  },
  dev: {
    domain: "local",
    environment: "development",
    ems: { image: "ems-server:latest", port: "8181", database: "ems", role: "ems_user" },
    sms: { image: "sms-server:latest", port: "8080", database: "sms", role: "sms_user" },
  },
} as const;

describe.each(["prod", "dev"] as const)("%s stack: the EMS and SMS servers' contract", (stack) => {
  const want = expected[stack];

  test.each(["ems", "sms"] as const)("%s: the image the repository publishes (prod) or dev.sh builds (dev)", (svc) => {
    const run = stacks[stack];
    const container = run.get(T.container, svc);
    if (stack === "prod") {
      expect(run.get(T.image, `${svc}-image`).inputs.name).toBe(want[svc].image);
      expect(container.inputs.image).toMatch(new RegExp(`^ghcr\\.io/edumigsoft/${svc}-server@sha256:[0-9a-f]{64}$`));
    } else {
      // Built on this machine: looked up by tag on every run and run by its image id, never pulled.
      expect(run.ofType(T.image).map((i) => i.name)).not.toContain(`${svc}-image`);
      expect(container.inputs.image).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  test.each(["ems", "sms"] as const)(
    "%s: Traefik routes to the port the server listens on, at api.<service>.<domain>",
    (svc) => {
      const labels = labelMap(stacks[stack].get(T.container, svc));
      expect(labels[`traefik.http.services.ems-system-${svc}.loadbalancer.server.port`]).toBe(want[svc].port);
      expect(labels[`traefik.http.routers.ems-system-${svc}.rule`]).toBe(`Host(\`api.${svc}.${want.domain}\`)`);
      expect(labels["com.ems.service"]).toBe(svc);
      expect(labels["com.ems.environment"]).toBe(want.environment);
    },
  );

  test.each(["ems", "sms"] as const)(
    "%s: every required variable by its real name; credentials only in the secrets file",
    (svc) => {
      const container = stacks[stack].get(T.container, svc);
      const env = envMap(container);
      const secrets = secretsOf(container);
      for (const name of REQUIRED) expect([name, name in env || name in secrets]).toEqual([name, true]);
      for (const name of CREDENTIALS) {
        expect([name, name in env]).toEqual([name, false]);
        expect(secrets[name]).toMatch(/^[A-Za-z0-9]{32,}$/);
      }
      expect(env).toMatchObject({
        DB_HOST: "ems_system-postgres",
        DB_PORT: "5432",
        DB_USER: want[svc].role,
        DB_NAME: want[svc].database,
        VERIFICATION_LINK_BASE_URL: `https://api.${svc}.${want.domain}/api/v1/auth/verify`,
        ENV: want.environment,
        ENVIRONMENT: want.environment,
        APP_VERSION: want[svc].image.split(":")[1],
        UPLOAD_PATH: "/app/uploads",
        HOME: "/app",
      });
      expect(Object.keys(env).filter((k) => k === "DB_PASSWORD")).toEqual([]);
    },
  );

  test.each(["ems", "sms"] as const)("%s: uploads and the log file land in the host folders of the seed", (svc) => {
    const run = stacks[stack];
    const container = run.get(T.container, svc);
    const data = run.config.paths.data;
    expect(mountAt(container, "/app/uploads")).toEqual({
      type: "bind",
      source: `${data}/uploads/${svc}`,
      target: "/app/uploads",
    });
    // The server writes $HOME/Documents/MeuAppDart/logs/app_logs.txt, with HOME=/app.
    expect(mountAt(container, "/app/Documents/MeuAppDart/logs")).toEqual({
      type: "bind",
      source: `${data}/logs/${svc}`,
      target: "/app/Documents/MeuAppDart/logs",
    });
  });

  test.each(["ems", "sms"] as const)(
    "%s: the health probe is ems-run in exec form, uploaded into the image, on the server's port and /api/v1/health",
    (svc) => {
      const container = stacks[stack].get(T.container, svc);
      const hc = container.inputs.healthcheck;
      expect(hc.tests).toEqual([
        "CMD",
        "/run/ems/ems-run",
        "--probe",
        want[svc].port,
        "/api/v1/health",
        "--accept-rate-limited",
      ]);
      expect(hc.interval).toBe("1m0s"); // as Go prints it: the provider reads it back so
      expect(hc.startInterval).toBe("2s");
      expect(container.inputs.entrypoints).toEqual(["/run/ems/ems-run"]);
      expect(container.inputs.command).toEqual(["/app/bin/server"]);
      const binary = uploadedFile(container, "/run/ems/ems-run");
      expect(binary).toBe(
        fs.readFileSync(path.join(__dirname, "../../components/probe/ems-run.amd64")).toString("latin1"),
      );
      expect(container.inputs.wait).toBe(true);
      expect(container.inputs.waitTimeout).toBe(120);
    },
  );

  test("one login role per service, its own generated password, on its own database; the superuser's password reaches no API", () => {
    const run = stacks[stack];
    const stdin = String(
      hostCommandOf(run, "postgres-databases").inputs.stdin?.value ??
        hostCommandOf(run, "postgres-databases").inputs.stdin,
    );
    expect(stdin).toContain(`SERVICE_ROLES='ems_user:${want.ems.database} sms_user:${want.sms.database}'`);
    const ems = secretsOf(run.get(T.container, "ems"));
    const sms = secretsOf(run.get(T.container, "sms"));
    expect(stdin).toContain(`ROLE_PASSWORD_ems_user=${ems.DB_PASS}`);
    expect(stdin).toContain(`ROLE_PASSWORD_sms_user=${sms.DB_PASS}`);
    expect(ems.DB_PASS).not.toBe(sms.DB_PASS);
    const superuser = /SUPERUSER_PASSWORD=(\S+)/.exec(stdin)![1];
    for (const svc of ["ems", "sms"]) {
      const container = run.get(T.container, svc);
      expect(JSON.stringify(container.inputs)).not.toContain(superuser);
    }
    expect(run.get(T.container, "postgres").inputs.envs).toContain("POSTGRES_USER=postgres");
  });
});

describe("config reaches the contract, without code per service", () => {
  test("a third service and its own variables (plain and secret) are config only", async () => {
    const base = prodConfig();
    const services = {
      ...JSON.parse(base["ems-infra:services"]),
      crm: { version: "2.0.0", port: 9090, env: { FEATURE_X: "on" } },
    };
    const secrets = {
      "ems-infra:serviceSecrets": JSON.stringify({
        crm: { env: { PAYMENT_TOKEN: "tok-0123456789" }, emailApiKey: "mail-key-0123" },
      }),
    };
    const run = await runStack("prod", { ...base, "ems-infra:services": JSON.stringify(services), ...secrets }, [
      ...Object.keys(PROD_SECRETS),
      ...Object.keys(secrets),
    ]);
    const crm = run.get(T.container, "crm");
    expect(run.get(T.image, "crm-image").inputs.name).toBe("ghcr.io/edumigsoft/crm-server:2.0.0");
    expect(envMap(crm)).toMatchObject({ FEATURE_X: "on", DB_USER: "crm_user", DB_NAME: "crm_production" });
    expect(secretsOf(crm)).toMatchObject({ PAYMENT_TOKEN: "tok-0123456789", EMAIL_SERVICE_API_KEY: "mail-key-0123" });
    expect(crm.inputs.healthcheck.tests).toEqual([
      "CMD",
      "/run/ems/ems-run",
      "--probe",
      "9090",
      "/api/v1/health",
      "--accept-rate-limited",
    ]);
  });

  test("the e-mail service settings become EMAIL_SERVICE_HOST/PORT/FROM/FROM_NAME", async () => {
    const email = { host: "smtp-relay.example.com", port: 2525, from: "noreply@edumigsoft.com.br", fromName: "EMS" };
    const run = await runStack(
      "prod",
      { ...prodConfig(), "ems-infra:email": JSON.stringify(email) },
      Object.keys(PROD_SECRETS),
    );
    expect(envMap(run.get(T.container, "ems"))).toMatchObject({
      EMAIL_SERVICE_HOST: "smtp-relay.example.com",
      EMAIL_SERVICE_PORT: "2525",
      EMAIL_SERVICE_FROM: "noreply@edumigsoft.com.br",
      EMAIL_SERVICE_FROM_NAME: "EMS",
    });
  });

  test("the image repository is formed by registry.repository, the health gate's bound by services.<svc>.health", async () => {
    let cfg = withValue(prodConfig(), "registry", [], { repository: "apps/{service}" });
    cfg = withValue(cfg, "services", ["ems", "health"], { timeoutSeconds: 300 });
    const run = await runStack("prod", cfg, Object.keys(PROD_SECRETS));
    expect(run.get(T.image, "ems-image").inputs.name).toBe("ghcr.io/edumigsoft/apps/ems:1.2.1");
    expect(run.get(T.container, "ems").inputs.waitTimeout).toBe(300);
    expect(run.get(T.container, "sms").inputs.waitTimeout).toBe(120);
  });

  test("a rebuilt local image (another image id under the same tag) is a new container image in dev", async () => {
    // The mock's image id is a digest of the looked-up name; another tag stands for a rebuild.
    const rebuilt = await runStack("dev", withValue(committedConfig("dev"), "services", ["ems", "version"], "rebuilt"));
    expect(rebuilt.get(T.container, "ems").inputs.image).not.toBe(stacks.dev.get(T.container, "ems").inputs.image);
    expect(rebuilt.get(T.container, "sms").inputs.image).toBe(stacks.dev.get(T.container, "sms").inputs.image);
  });
});

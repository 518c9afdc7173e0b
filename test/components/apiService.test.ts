/** The ApiService component alone: its Traefik labels, the same for every version, and its container. */
import * as pulumi from "@pulumi/pulumi";
import { ApiService, ApiServiceArgs, traefikLabels } from "../../components/apiService";
import { ComponentRun, runComponents } from "../support/componentHarness";
import { T, envMap, isSecretInput, labelMap, unwrap } from "../support/stackHarness";
import { labelsToDynamicConfig, validateDynamic } from "../support/traefikSchemas";
import { mountAt, unsecret } from "../stacks/helpers";

const ARGS = (version: string): ApiServiceArgs => ({
  image: "ghcr.io/edumigsoft/ems",
  version,
  routerName: "ems-system-ems",
  host: "api.ems.edumigsoft.com.br",
  port: 8080,
  healthPath: "/health",
  acme: true,
  env: { ENVIRONMENT: "production", DB_HOST: "ems_system-postgres", DB_PASSWORD: pulumi.secret("db-secret-0123456789") },
  uploadsHostPath: "/root/ems_system/data/uploads/ems",
  uploadsDir: "/app/uploads",
  logsHostPath: "/root/ems_system/data/logs/ems",
  logsDir: "/app/logs",
  proxyNetwork: "proxy",
  dbNetwork: "ems_system_db",
  memoryMb: 512,
});

const containerOf = (run: ComponentRun<unknown>, name: string) => {
  const c = run.get(T.container, name);
  return { ...c, inputs: { ...c.inputs, envs: unsecret(c.inputs.envs) } };
};

describe("traefikLabels", () => {
  test("exact labels of an ACME router", () => {
    expect(traefikLabels({ routerName: "ems-system-ems", host: "api.ems.edumigsoft.com.br", port: 8080, acme: true, network: "proxy" })).toEqual({
      "traefik.enable": "true",
      "traefik.docker.network": "proxy",
      "traefik.http.routers.ems-system-ems.rule": "Host(`api.ems.edumigsoft.com.br`)",
      "traefik.http.routers.ems-system-ems.entrypoints": "websecure",
      "traefik.http.routers.ems-system-ems.tls": "true",
      "traefik.http.routers.ems-system-ems.tls.certresolver": "letsencrypt",
      "traefik.http.routers.ems-system-ems.middlewares": "security-headers@file,api-ratelimit@file",
      "traefik.http.routers.ems-system-ems.service": "ems-system-ems",
      "traefik.http.services.ems-system-ems.loadbalancer.server.port": "8080",
    });
  });

  test("exact labels of an mkcert router: TLS from the file provider's certificate, no resolver", () => {
    expect(traefikLabels({ routerName: "ems-system-sms", host: "api.sms.local", port: 3000, acme: false, network: "proxy" })).toEqual({
      "traefik.enable": "true",
      "traefik.docker.network": "proxy",
      "traefik.http.routers.ems-system-sms.rule": "Host(`api.sms.local`)",
      "traefik.http.routers.ems-system-sms.entrypoints": "websecure",
      "traefik.http.routers.ems-system-sms.tls": "true",
      "traefik.http.routers.ems-system-sms.middlewares": "security-headers@file,api-ratelimit@file",
      "traefik.http.routers.ems-system-sms.service": "ems-system-sms",
      "traefik.http.services.ems-system-sms.loadbalancer.server.port": "3000",
    });
  });

  test("the labels are valid Traefik v3 dynamic configuration", () => {
    const labels = traefikLabels({ routerName: "ems-system-ems", host: "api.ems.edumigsoft.com.br", port: 8080, acme: true, network: "proxy" });
    expect(validateDynamic(labelsToDynamicConfig(labels))).toEqual([]);
  });
});

describe("two versions of the same service", () => {
  let run: ComponentRun<ApiService[]>;
  beforeAll(async () => {
    run = await runComponents(() => [new ApiService("ems-old", ARGS("1.0.0")), new ApiService("ems-new", ARGS("1.1.0"))]);
  });

  test("carry identical labels, so Traefik balances one router over both during a deploy", () => {
    const old = labelMap(run.get(T.container, "ems-old"));
    const next = labelMap(run.get(T.container, "ems-new"));
    expect(Object.keys(old).length).toBe(9);
    expect(next).toEqual(old);
    expect(run.get(T.container, "ems-new").inputs.labels).toEqual(run.get(T.container, "ems-old").inputs.labels);
  });

  test("differ only in their image", () => {
    expect(run.get(T.image, "ems-old-image").inputs.name).toBe("ghcr.io/edumigsoft/ems:1.0.0");
    expect(run.get(T.image, "ems-new-image").inputs.name).toBe("ghcr.io/edumigsoft/ems:1.1.0");
    const { image: a, ...old } = run.get(T.container, "ems-old").inputs;
    const { image: b, ...next } = run.get(T.container, "ems-new").inputs;
    expect(a).not.toBe(b);
    expect(next).toEqual(old);
  });
});

describe("the container", () => {
  let run: ComponentRun<ApiService>;
  beforeAll(async () => {
    run = await runComponents(() => new ApiService("ems", ARGS("1.0.0")));
  });

  test("runs the image by digest, exposed as imageRef; the url is https://<host>", async () => {
    const c = run.get(T.container, "ems");
    expect(c.inputs.image).toMatch(/^ghcr\.io\/edumigsoft\/ems@sha256:[0-9a-f]{64}$/);
    expect(await unwrap(run.result.imageRef)).toBe(c.inputs.image);
    expect(await unwrap(run.result.url)).toBe("https://api.ems.edumigsoft.com.br");
    expect(run.get(T.image, "ems-image").inputs).toEqual({ name: "ghcr.io/edumigsoft/ems:1.0.0", keepLocally: true });
  });

  test("has no name and no ports, waits for healthy, and is replaced create-before-delete", () => {
    const c = run.get(T.container, "ems");
    expect(c.inputs.name).toBeUndefined();
    expect(c.inputs.ports).toBeUndefined();
    expect(c.inputs.wait).toBe(true);
    expect(c.inputs.waitTimeout).toBe(180);
    expect(c.inputs.healthcheck.tests).toEqual([
      "CMD-SHELL",
      "wget -q -O /dev/null http://127.0.0.1:8080/health || curl -fsS -o /dev/null http://127.0.0.1:8080/health || exit 1",
    ]);
    expect(c.opts).toHaveProperty("deleteBeforeReplace", false);
  });

  test("env is sorted KEY=value and secret when it holds a secret", async () => {
    const c = containerOf(run, "ems");
    expect(c.inputs.envs).toEqual(["DB_HOST=ems_system-postgres", "DB_PASSWORD=db-secret-0123456789", "ENVIRONMENT=production"]);
    expect(envMap(c).DB_PASSWORD).toBe("db-secret-0123456789");
    expect(await isSecretInput(run.get(T.container, "ems").props.envs)).toBe(true);
  });

  test("mounts the uploads and logs host folders and joins the proxy and database networks", () => {
    const c = run.get(T.container, "ems");
    expect(mountAt(c, "/app/uploads")).toEqual({ type: "bind", source: "/root/ems_system/data/uploads/ems", target: "/app/uploads" });
    expect(mountAt(c, "/app/logs")).toEqual({ type: "bind", source: "/root/ems_system/data/logs/ems", target: "/app/logs" });
    expect(c.inputs.networksAdvanced).toEqual([{ name: "proxy" }, { name: "ems_system_db" }]);
    expect(c.inputs.memory).toBe(512);
  });
});

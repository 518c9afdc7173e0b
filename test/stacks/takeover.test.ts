/**
 * The committed prod stack takes over today's compose VPS (real-system.md §1.4–1.5) without losing a row, a
 * certificate or Portainer's data: what it registers for PostgreSQL, Traefik, the ACME store, Portainer and the
 * dashboard; and the dev stack's equivalents.
 */
import * as bcrypt from "bcryptjs";
import * as YAML from "yaml";
import * as semver from "semver";
import { committedConfig, labelMap, runStack, StackRun, T, TEST_SECRETS } from "../support";
import { dynamicFiles, layoutFolders, mountAt, uploadedFile } from "./helpers";

const PASSWORD = "dashboard-Password-0123";
const PROD_SECRETS = { ...TEST_SECRETS, "ems-infra:dashboardPassword": PASSWORD };
let prod: StackRun;
let dev: StackRun;
beforeAll(async () => {
  prod = await runStack("prod", { ...committedConfig("prod"), ...PROD_SECRETS }, Object.keys(PROD_SECRETS));
  dev = await runStack("dev", committedConfig("dev"));
});

describe("PostgreSQL 17 on the volume that exists", () => {
  test("both stacks run the same pinned postgres:17.x-alpine image", () => {
    for (const run of [prod, dev])
      expect(run.get(T.image, "postgres-image").inputs.name).toMatch(/^postgres:17\.\d+-alpine$/);
    expect(dev.get(T.image, "postgres-image").inputs.name).toBe(prod.get(T.image, "postgres-image").inputs.name);
  });

  test("prod adopts postgres_ems_system_data by its exact name, protected, retained, compose's labels ignored", () => {
    const volume = prod.get(T.volume, "postgres-data");
    expect(volume.inputs).toEqual({ name: "postgres_ems_system_data" });
    expect(volume.opts).toMatchObject({ protect: true, retainOnDelete: true });
    expect(volume.opts.ignoreChanges).toEqual(expect.arrayContaining(["labels"]));
    expect(mountAt(prod.get(T.container, "postgres"), "/var/lib/postgresql/data").source).toBe(
      "postgres_ems_system_data",
    );
  });

  test("dev keeps its data on <system>_pgdata_17, also with labels ignored (a replaced dev volume would be deleted)", () => {
    const volume = dev.get(T.volume, "postgres-data");
    expect(volume.inputs.name).toBe("ems_system_pgdata_17");
    expect(volume.opts.ignoreChanges).toEqual(expect.arrayContaining(["labels"]));
  });

  test("the superuser is the one on the volume (postgres) and initdb's password comes from a file, never from Env", () => {
    const postgres = prod.get(T.container, "postgres");
    expect(postgres.inputs.envs).toEqual([
      "POSTGRES_USER=postgres",
      "POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password",
      "PGDATA=/var/lib/postgresql/data",
    ]);
    expect(uploadedFile(postgres, "/run/secrets/postgres-password")).toMatch(/^[A-Za-z0-9]{32}$/);
  });
});

describe("Certificates kept", () => {
  test("prod's ACME store is today's /root/infra/letsencrypt/ems_system.json under the resolver ems_system_resolver", () => {
    const traefik = prod.get(T.container, "traefik");
    const staticConfig = YAML.parse(uploadedFile(traefik, "/etc/traefik/traefik.yml"));
    expect(staticConfig.certificatesResolvers).toEqual({
      ems_system_resolver: {
        acme: {
          email: "admin@edumigsoft.com.br",
          storage: "/letsencrypt/ems_system.json",
          httpChallenge: { entryPoint: "web" },
        },
      },
    });
    expect(mountAt(traefik, "/letsencrypt")).toEqual({
      type: "bind",
      source: "/root/infra/letsencrypt",
      target: "/letsencrypt",
    });
    expect(layoutFolders(prod)["/root/infra/letsencrypt"]).toBe("700");
    for (const svc of ["ems", "sms"]) {
      expect(labelMap(prod.get(T.container, svc))[`traefik.http.routers.ems-system-${svc}.tls.certresolver`]).toBe(
        "ems_system_resolver",
      );
    }
  });
});

describe("A Traefik that talks to Docker Engine 29", () => {
  test("both stacks pin Traefik v3.6.1 or later, joined to the proxy network by name (and the socket proxy's and Portainer's)", () => {
    for (const run of [prod, dev]) {
      const tag = String(run.get(T.image, "traefik-image").inputs.name).split(":")[1];
      expect(semver.gte(semver.coerce(tag)!, "3.6.1")).toBe(true);
    }
    // ems_system_net exists on the VPS (the compose systems share it): joined, never created.
    expect(prod.ofType(T.network).map((n) => n.inputs.name)).not.toContain("ems_system_net");
    expect(prod.get(T.container, "traefik").inputs.networksAdvanced).toEqual([
      { name: "ems_system_net" },
      { name: "infra_socket_proxy_net" },
      { name: "infra_portainer_net" },
    ]);
    expect(prod.get(T.container, "traefik").inputs.name).toBe("infra_traefik");
  });

  test("HTTPS listens on IPv6 too in prod", () => {
    expect(prod.get(T.container, "traefik").inputs.ports).toEqual([
      { internal: 80, external: 80, ip: "0.0.0.0" },
      { internal: 80, external: 80, ip: "::" },
      { internal: 443, external: 443, ip: "0.0.0.0" },
      { internal: 443, external: 443, ip: "::" },
    ]);
  });
});

describe("Portainer, as it runs today, fenced", () => {
  test.each([
    ["prod", "infra_portainer_data", undefined, true],
    ["dev", "infra_portainer_data_dev", "portainer.local", false],
  ] as const)(
    "%s: pinned image, the socket, data on %s, routed at %s (prod: no router, the SSH tunnel) to port 9000",
    (stack, volume, host, protect) => {
      const run = stack === "prod" ? prod : dev;
      const image = String(run.get(T.image, "portainer-image").inputs.name);
      expect(image).toMatch(/^portainer\/portainer-ce:\d+\.\d+\.\d+$/);
      const container = run.get(T.container, "portainer");
      expect(mountAt(container, "/var/run/docker.sock")).toEqual({
        type: "bind",
        source: "/var/run/docker.sock",
        target: "/var/run/docker.sock",
        readOnly: true,
      });
      expect(mountAt(container, "/data")).toEqual({ type: "volume", source: volume, target: "/data" });
      expect(run.get(T.volume, "portainer-data").opts.protect).toBe(protect);
      const labels = labelMap(container);
      if (host === undefined) {
        expect(labels["traefik.http.routers.portainer.rule"]).toBeUndefined();
        expect(run.outputs.urls.portainer).toBe("http://localhost:9000");
        return;
      }
      expect(labels["traefik.http.routers.portainer.rule"]).toBe(`Host(\`${host}\`)`);
      expect(labels["traefik.http.services.portainer.loadbalancer.server.port"]).toBe("9000");
      expect(run.outputs.urls.portainer).toBe(`https://${host}`);
    },
  );
});

describe("The Traefik dashboard as today", () => {
  test("prod: traefik.edumigsoft.com.br behind basic auth with a bcrypt hash of the secret password", () => {
    const dashboard = YAML.parse(dynamicFiles(prod)["dashboard.yml"]);
    expect(dashboard.http.routers.dashboard).toMatchObject({
      rule: "Host(`traefik.edumigsoft.com.br`)",
      service: "api@internal",
      middlewares: ["security-headers@file", "admin-ratelimit@file", "dashboard-auth"],
    });
    const [entry] = dashboard.http.middlewares["dashboard-auth"].basicAuth.users as string[];
    const [user, hash] = [entry.slice(0, entry.indexOf(":")), entry.slice(entry.indexOf(":") + 1)];
    expect(user).toBe("admin");
    expect(hash).toMatch(/^\$2a\$10\$/);
    expect(bcrypt.compareSync(PASSWORD, hash)).toBe(true);
    expect(bcrypt.compareSync("another-password", hash)).toBe(false);
  });

  test("prod: the hash is the same on every run (its salt is kept in the stack), so nothing is rewritten", async () => {
    const again = await runStack("prod", { ...committedConfig("prod"), ...PROD_SECRETS }, Object.keys(PROD_SECRETS));
    expect(dynamicFiles(again)["dashboard.yml"]).toBe(dynamicFiles(prod)["dashboard.yml"]);
    // ... and the hash is no label: nothing of it in docker inspect.
    expect(JSON.stringify(prod.get(T.container, "traefik").inputs.labels)).not.toContain("$2a$");
  });

  test("dev: traefik.local without a password, as today (Traefik listens on the laptop's loopback only)", () => {
    const dashboard = YAML.parse(dynamicFiles(dev)["dashboard.yml"]);
    expect(dashboard.http.routers.dashboard).toEqual({
      rule: "Host(`traefik.local`)",
      entryPoints: ["websecure"],
      service: "api@internal",
      middlewares: ["security-headers@file", "admin-ratelimit@file"],
      tls: {},
    });
    expect(dashboard.http.middlewares).toBeUndefined();
  });
});

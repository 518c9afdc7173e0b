/** Checks both committed stacks must pass (not a test file itself: dev.test.ts and prod.test.ts call it). */
import { StackRun, T, labelMap, runStack } from "../support/stackHarness";
import { urnOf } from "../support/componentHarness";
import { envOf, hostCommandOf, layoutFolders, mountAt } from "./helpers";

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** The type of the resource a URN names (the last `$`-separated part of its qualified type). */
export function typeOfUrn(urn: string): string {
  return urn.split("::")[2].split("$").pop()!;
}

export function systemInvariants(stack: "dev" | "prod", load: () => StackRun): void {
  const apis = ["ems", "sms"];

  test("Traefik publishes ports 80 and 443 and mounts the Docker socket read-only", () => {
    const traefik = load().get(T.container, "traefik");
    expect(traefik.inputs.ports).toEqual([
      { internal: 80, external: 80 },
      { internal: 443, external: 443 },
    ]);
    expect(mountAt(traefik, "/var/run/docker.sock")).toEqual({ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true });
  });

  test("no container but Traefik publishes a host port", () => {
    const published = load()
      .ofType(T.container)
      .filter((c) => c.inputs.ports !== undefined && c.inputs.ports.length > 0)
      .map((c) => c.name);
    expect(published).toEqual(["traefik"]);
  });

  test("Postgres has no ports, sits only on an internal network, and keeps its data on the named volume ems_system_pgdata", () => {
    const run = load();
    const postgres = run.get(T.container, "postgres");
    expect(postgres.inputs.ports).toBeUndefined();
    expect(postgres.inputs.name).toBe("ems_system-postgres");
    expect(postgres.inputs.networksAdvanced.map((n: { name: string }) => n.name)).toEqual(["ems_system_db"]);
    expect(run.get(T.network, "postgres-network").inputs).toMatchObject({ name: "ems_system_db", internal: true });
    expect(run.get(T.volume, "postgres-data").inputs.name).toBe("ems_system_pgdata");
    expect(mountAt(postgres, "/var/lib/postgresql/data")).toEqual({ type: "volume", source: "ems_system_pgdata", target: "/var/lib/postgresql/data" });
  });

  test("the API containers join the proxy network and the internal database network, nothing else", () => {
    const run = load();
    for (const api of apis) {
      expect(run.get(T.container, api).inputs.networksAdvanced).toEqual([{ name: "proxy" }, { name: "ems_system_db" }]);
      expect(labelMap(run.get(T.container, api))["traefik.docker.network"]).toBe("proxy");
    }
    expect(run.get(T.network, "traefik-network").inputs.internal).toBeUndefined();
  });

  test("API containers have no fixed name, no ports, wait for healthy, and set deleteBeforeReplace: false explicitly", () => {
    const run = load();
    for (const api of apis) {
      const c = run.get(T.container, api);
      expect(c.props.name).toBeUndefined();
      expect(c.inputs.name).toBeUndefined();
      expect(c.inputs.ports).toBeUndefined();
      expect(c.inputs.wait).toBe(true);
      expect(Object.prototype.hasOwnProperty.call(c.opts, "deleteBeforeReplace")).toBe(true);
      expect(c.opts.deleteBeforeReplace).toBe(false);
      expect(c.inputs.healthcheck.tests.join(" ")).toContain(`http://127.0.0.1:8080/health`);
    }
  });

  test("Postgres and Traefik containers are deleted before their replacement starts", () => {
    const run = load();
    expect(run.get(T.container, "postgres").opts.deleteBeforeReplace).toBe(true);
    expect(run.get(T.container, "traefik").opts.deleteBeforeReplace).toBe(true);
  });

  test("API containers run their GHCR image by digest (@sha256:), pulled by its pinned tag", async () => {
    const run = load();
    for (const api of apis) {
      expect(run.get(T.image, `${api}-image`).inputs.name).toBe(`ghcr.io/edumigsoft/${api}:1.0.0`);
      const image = run.get(T.container, api).inputs.image as string;
      expect(image).toMatch(new RegExp(`^ghcr\\.io/edumigsoft/${api}${DIGEST.source}`));
      expect(run.outputs.images[api]).toBe(image);
    }
  });

  test("every custom resource has an ems:infra:* component as parent", async () => {
    const run = load();
    const custom = run.resources.filter((r) => r.custom);
    expect(custom.length).toBeGreaterThan(15);
    const orphans: string[] = [];
    for (const r of custom) {
      const parent = r.opts.parent;
      if (!parent) {
        orphans.push(`${r.type} ${r.name}: no parent`);
        continue;
      }
      const parentType = typeOfUrn(await urnOf(parent));
      if (!parentType.startsWith("ems:infra:")) orphans.push(`${r.type} ${r.name}: parent is ${parentType}`);
    }
    expect(orphans).toEqual([]);
  });

  test("every component's type token is ems:infra:<Name>", () => {
    const components = load().resources.filter((r) => !r.custom);
    expect(components.length).toBeGreaterThanOrEqual(7);
    for (const c of components) expect(c.type).toMatch(/^ems:infra:[A-Z][A-Za-z]+$/);
    expect(new Set(components.map((c) => c.type))).toEqual(
      new Set([
        "ems:infra:DockerEngine",
        "ems:infra:HostLayout",
        "ems:infra:Credentials",
        "ems:infra:Traefik",
        "ems:infra:Postgres",
        "ems:infra:ApiService",
        "ems:infra:Backup",
        ...(stack === "dev" ? ["ems:infra:LocalCertificates"] : []),
      ]),
    );
  });

  test("the API containers reach Postgres by its fixed container name, on its own database, as the configured user", () => {
    const run = load();
    for (const api of apis) {
      const env = envOf(run.get(T.container, api));
      expect(env).toMatchObject({ DB_HOST: "ems_system-postgres", DB_PORT: "5432", DB_NAME: api, DB_USER: "ems" });
    }
  });
}

/** A third service added in config only: a third ApiService, its route, its folders and its database. */
export function thirdServiceTest(stack: "dev" | "prod", config: () => Record<string, string>, domain: string): void {
  test("a third service added in config (services.crm) gets its own ApiService, route api.crm.<domain>, folders and database crm", async () => {
    const base = config();
    const services = JSON.parse(base["ems-infra:services"]);
    const run = await runStack(stack, { ...base, "ems-infra:services": JSON.stringify({ ...services, crm: { version: "2.0.0" } }) });

    expect(run.ofType("ems:infra:ApiService").map((r) => r.name)).toEqual(["ems", "sms", "crm"]);
    const crm = run.get(T.container, "crm");
    expect(labelMap(crm)["traefik.http.routers.ems-system-crm.rule"]).toBe(`Host(\`api.crm.${domain}\`)`);
    expect(run.get(T.image, "crm-image").inputs.name).toBe("ghcr.io/edumigsoft/crm:2.0.0");
    expect(envOf(crm).DB_NAME).toBe("crm");
    expect(run.outputs.urls.crm).toBe(`https://api.crm.${domain}`);

    const stdin = JSON.stringify(hostCommandOf(run, "postgres-databases").inputs.stdin);
    expect(stdin).toContain(`DATABASES='ems sms crm'`);
    expect(hostCommandOf(run, "postgres-databases").inputs.triggers).toEqual(expect.arrayContaining(["ems", "sms", "crm"]));

    const folders = Object.keys(layoutFolders(run));
    const data = run.config.paths.data;
    expect(folders).toEqual(expect.arrayContaining([`${data}/uploads/crm`, `${data}/logs/crm`]));
    expect(mountAt(crm, "/app/uploads").source).toBe(`${data}/uploads/crm`);
    expect(mountAt(crm, "/app/logs").source).toBe(`${data}/logs/crm`);
  });
}

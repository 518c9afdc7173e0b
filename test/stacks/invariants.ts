/** Checks both committed stacks must pass (not a test file itself: dev.test.ts and prod.test.ts call it). */
import YAML from "yaml";
import { readHaproxyAllowRules, SOCKET_PROXY_CONFIG_PATH } from "../../components/socketProxyConfig";
import { isSecretInput, labelMap, plainInput, runStack, StackRun, T, urnOf } from "../support";
import { envOf, hostCommandOf, layoutFolders, mountAt, mountsOf } from "./helpers";

const DIGEST = /@sha256:[0-9a-f]{64}$/;

/** The type of the resource a URN names (the last `$`-separated part of its qualified type). */
export function typeOfUrn(urn: string): string {
  return urn.split("::")[2].split("$").pop()!;
}

export function systemInvariants(stack: "dev" | "prod", load: () => StackRun): void {
  const apis = ["ems", "sms"];

  test("Traefik publishes ports 80 and 443 (the laptop on its loopback only) and does not mount the Docker socket", () => {
    const traefik = load().get(T.container, "traefik");
    const ports = traefik.inputs.ports as { internal: number; external: number; ip: string }[];
    expect([...new Set(ports.map((p) => `${p.external}->${p.internal}`))]).toEqual(["80->80", "443->443"]);
    expect([...new Set(ports.map((p) => p.ip))]).toEqual(stack === "prod" ? ["0.0.0.0", "::"] : ["127.0.0.1", "::1"]);
    expect(mountsOf(traefik).map((m) => m.source)).not.toContain("/var/run/docker.sock");
  });

  test("no container but the socket proxy and Portainer mounts the Docker socket", () => {
    const withSocket = load()
      .ofType(T.container)
      .filter((c) => mountsOf(c).some((m) => /^\/(var\/)?run\/docker\.sock$/.test(m.source ?? "")))
      .map((c) => c.name)
      .sort();
    expect(withSocket).toEqual(["portainer", "socket-proxy"]);
  });

  test("Traefik's docker provider reads the socket proxy, and only this system's containers", () => {
    const run = load();
    const traefik = run.get(T.container, "traefik");
    const uploads = plainInput<{ file: string; content?: string }[]>(traefik.inputs.uploads);
    const docker = YAML.parse(uploads.find((u) => u.file === "/etc/traefik/traefik.yml")!.content!).providers.docker;
    expect(docker.endpoint).toBe("tcp://infra_socket_proxy:2375");
    expect(docker.constraints).toBe("Label(`com.ems.system`, `ems_system`)");
    expect(traefik.inputs.networksAdvanced.map((n: { name: string }) => n.name)).toEqual(
      expect.arrayContaining(["infra_socket_proxy_net", "infra_portainer_net"]),
    );
    expect(run.get(T.network, "socket-proxy-network").inputs).toMatchObject({
      name: "infra_socket_proxy_net",
      internal: true,
    });
  });

  test("the socket proxy lets through read-only methods only (no POST, no DELETE)", () => {
    const proxy = load().get(T.container, "socket-proxy");
    const uploads = plainInput<{ file: string; content?: string }[]>(proxy.inputs.uploads);
    const rules = readHaproxyAllowRules(uploads.find((u) => u.file === SOCKET_PROXY_CONFIG_PATH)!.content!);
    expect(rules).toEqual({ methods: ["GET", "HEAD"], problems: [] });
  });

  test("Portainer's admin is set at creation from a secret, on its own network with Traefik; in prod it has no router", async () => {
    const run = load();
    const portainer = run.get(T.container, "portainer");
    expect(portainer.inputs.command).toEqual(["--admin-password-file", "/run/ems/portainer-admin-password"]);
    expect(await isSecretInput(portainer.props.uploads)).toBe(true);
    expect(portainer.inputs.networksAdvanced).toEqual([{ name: "infra_portainer_net" }]);
    const routers = Object.keys(labelMap(portainer)).filter((k) => k.startsWith("traefik.http.routers."));
    if (stack === "prod") {
      expect(routers).toEqual([]);
      expect(labelMap(portainer)["traefik.enable"]).toBe("false");
    } else expect(routers.length).toBeGreaterThan(0);
    expect(run.outputs.portainerAdminPassword).toBeDefined();
  });

  test("no container but Traefik publishes a host port (and a private Portainer, on 127.0.0.1 only, for the SSH tunnel)", () => {
    const containers = load()
      .ofType(T.container)
      .filter((c) => c.inputs.ports !== undefined && c.inputs.ports.length > 0);
    expect(containers.map((c) => c.name)).toEqual(stack === "prod" ? ["traefik", "portainer"] : ["traefik"]);
    if (stack === "prod")
      expect(containers[1].inputs.ports).toEqual([
        { internal: 9000, external: 9000, ip: "127.0.0.1", protocol: "tcp" },
      ]);
  });

  test("Postgres has no ports, sits only on an internal network, and keeps its data on its named volume", () => {
    const run = load();
    const volume = stack === "prod" ? "postgres_ems_system_data" : "ems_system_pgdata_17";
    const postgres = run.get(T.container, "postgres");
    expect(postgres.inputs.ports).toBeUndefined();
    expect(postgres.inputs.name).toBe("ems_system-postgres");
    expect(postgres.inputs.networksAdvanced.map((n: { name: string }) => n.name)).toEqual(["ems_system_db"]);
    expect(run.get(T.network, "postgres-network").inputs).toMatchObject({ name: "ems_system_db", internal: true });
    expect(run.get(T.volume, "postgres-data").inputs.name).toBe(volume);
    expect(mountAt(postgres, "/var/lib/postgresql/data")).toEqual({
      type: "volume",
      source: volume,
      target: "/var/lib/postgresql/data",
    });
  });

  test("the API containers join the proxy network and the internal database network, nothing else", () => {
    const run = load();
    const proxy = stack === "prod" ? "ems_system_net" : "proxy";
    for (const api of apis) {
      expect(run.get(T.container, api).inputs.networksAdvanced).toEqual([{ name: proxy }, { name: "ems_system_db" }]);
      expect(labelMap(run.get(T.container, api))["traefik.docker.network"]).toBe(proxy);
    }
    if (stack === "dev") expect(run.get(T.network, "traefik-network").inputs.internal).toBeUndefined();
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
      expect(c.opts.replaceOnChanges).toEqual(["*"]);
    }
  });

  test("Postgres and Traefik containers are deleted before their replacement starts", () => {
    const run = load();
    expect(run.get(T.container, "postgres").opts.deleteBeforeReplace).toBe(true);
    expect(run.get(T.container, "traefik").opts.deleteBeforeReplace).toBe(true);
  });

  test("API containers run an image pinned by digest (prod) or by its local image id (dev), as the stack outputs say", async () => {
    const run = load();
    for (const api of apis) {
      const image = run.get(T.container, api).inputs.image as string;
      expect(image).toMatch(
        stack === "prod" ? new RegExp(`^ghcr\\.io/edumigsoft/${api}-server${DIGEST.source}`) : /^sha256:[0-9a-f]{64}$/,
      );
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
        "ems:infra:Portainer",
        "ems:infra:SocketProxy",
        "ems:infra:Backup",
        ...(stack === "dev" ? ["ems:infra:LocalCertificates"] : []),
      ]),
    );
  });

  test("the API containers reach Postgres by its fixed container name, on their own database, as their own role", () => {
    const run = load();
    for (const api of apis) {
      const env = envOf(run.get(T.container, api));
      expect(env).toMatchObject({
        DB_HOST: "ems_system-postgres",
        DB_PORT: "5432",
        DB_NAME: stack === "prod" ? `${api}_production` : api,
        DB_USER: `${api}_user`,
      });
    }
  });
}

/** The config keys of a committed config that are credentials (set with --secret). */
function secretKeysOf(config: Record<string, string>): string[] {
  return Object.keys(config).filter((k) => /:(ghcrToken|dashboardPassword|postgresPassword|serviceSecrets)$/.test(k));
}

/** A third service added in config only: a third ApiService, its route, its folders and its database. */
export function thirdServiceTest(stack: "dev" | "prod", config: () => Record<string, string>, domain: string): void {
  test("a third service added in config (services.crm) gets its own ApiService, route api.crm.<domain>, folders and database crm", async () => {
    const base = config();
    const services = JSON.parse(base["ems-infra:services"]);
    const run = await runStack(
      stack,
      { ...base, "ems-infra:services": JSON.stringify({ ...services, crm: { version: "2.0.0" } }) },
      secretKeysOf(base),
    );

    expect(run.ofType("ems:infra:ApiService").map((r) => r.name)).toEqual(["ems", "sms", "crm"]);
    const crm = run.get(T.container, "crm");
    expect(labelMap(crm)["traefik.http.routers.ems-system-crm.rule"]).toBe(`Host(\`api.crm.${domain}\`)`);
    expect(run.get(T.image, "crm-image").inputs.name).toBe("ghcr.io/edumigsoft/crm-server:2.0.0");
    const database = stack === "prod" ? "crm_production" : "crm";
    expect(envOf(crm)).toMatchObject({ DB_NAME: database, DB_USER: "crm_user" });
    expect(run.outputs.urls.crm).toBe(`https://api.crm.${domain}`);

    const stdin = JSON.stringify(hostCommandOf(run, "postgres-databases").inputs.stdin);
    expect(stdin).toContain(`crm_user:${database}'`);
    expect(hostCommandOf(run, "postgres-databases").inputs.triggers).toEqual(
      expect.arrayContaining([`crm_user:${database}`]),
    );

    const folders = Object.keys(layoutFolders(run));
    const data = run.config.paths.data;
    expect(folders).toEqual(expect.arrayContaining([`${data}/uploads/crm`, `${data}/logs/crm`]));
    expect(mountAt(crm, "/app/uploads").source).toBe(`${data}/uploads/crm`);
    expect(mountAt(crm, "/app/Documents/MeuAppDart/logs").source).toBe(`${data}/logs/crm`);
  });
}

// The Traefik configuration ems-infra generates, for a dev-like (mkcert) and a prod-like (ACME) stack,
// checked against Traefik's schemas, and its cross-references checked against each other.
import YAML from "yaml";
import { traefikLabels } from "../components/apiService";
import { TraefikConfigArgs, traefikDynamicConfig, traefikStaticConfig } from "../components/traefikConfig";
import { labelsToDynamicConfig, validateDynamic, validateStatic } from "./support";

const CASES: Array<[string, TraefikConfigArgs, { host: string; port: number; certResolver?: string }]> = [
  [
    "dev (mkcert)",
    {
      tls: { mode: "mkcert", certsDir: "/home/dev/Projects/Working/ems_system/servers/infra/certs" },
      network: "ems_system_net",
      dashboard: true,
      rateLimit: { average: 100, burst: 200 },
      dockerEndpoint: "tcp://infra_socket_proxy:2375",
      systems: ["ems_system"],
    },
    { host: "api.ems.local", port: 8181 },
  ],
  [
    "prod (acme)",
    {
      tls: {
        mode: "acme",
        email: "admin@edumigsoft.com.br",
        storageDir: "/root/infra/letsencrypt",
        storageFile: "ems_system.json",
        resolver: "ems_system_resolver",
      },
      network: "ems_system_net",
      dashboard: true,
      rateLimit: { average: 50, burst: 100 },
      dockerEndpoint: "tcp://infra_socket_proxy:2375",
      systems: ["ems_system", "other_system"],
    },
    { host: "api.sms.edumigsoft.com.br", port: 8080, certResolver: "ems_system_resolver" },
  ],
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- generated YAML documents are untyped
type Obj = Record<string, any>;

describe.each(CASES)("%s", (_name, args, api) => {
  const staticConfig = traefikStaticConfig(args) as Obj;
  const fileConfig = traefikDynamicConfig(args) as Obj;
  const labels = traefikLabels({
    routerName: "ems",
    host: api.host,
    port: api.port,
    certResolver: api.certResolver,
    network: args.network,
  });
  const labelConfig = labelsToDynamicConfig(labels, { serverHost: "ems-api" });

  it("static configuration (traefik.yml) matches the schema, as an object and as the YAML uploaded", () => {
    expect(validateStatic(staticConfig)).toEqual([]);
    expect(validateStatic(YAML.stringify(staticConfig))).toEqual([]);
  });

  it("file-provider configuration matches the schema", () => {
    expect(validateDynamic(fileConfig)).toEqual([]);
    expect(validateDynamic(YAML.stringify(fileConfig))).toEqual([]);
  });

  it("API container labels convert cleanly and match the schema", () => {
    expect(validateDynamic(labelConfig)).toEqual([]);
    expect(labelConfig.http.routers.ems).toMatchObject({ entryPoints: ["websecure"], rule: `Host(\`${api.host}\`)` });
    expect(labelConfig.http.services.ems).toEqual({
      loadBalancer: { servers: [{ url: `http://ems-api:${api.port}` }] },
    });
  });

  it("every reference resolves: entry points, @file middlewares, services, certificate resolvers", () => {
    const entryPoints = Object.keys(staticConfig.entryPoints ?? {});
    const fileMiddlewares = Object.keys(fileConfig.http?.middlewares ?? {});
    const labelMiddlewares = Object.keys(labelConfig.http?.middlewares ?? {});
    const services = Object.keys(labelConfig.http?.services ?? {});
    const resolvers = Object.keys(staticConfig.certificatesResolvers ?? {});
    const problems: string[] = [];
    for (const [name, router] of Object.entries<Obj>(labelConfig.http?.routers ?? {})) {
      for (const ep of router.entryPoints ?? [])
        if (!entryPoints.includes(ep)) problems.push(`router ${name}: entry point ${ep} not defined`);
      for (const mw of router.middlewares ?? []) {
        const [mwName, provider] = String(mw).split("@");
        if (
          provider === "file"
            ? !fileMiddlewares.includes(mwName)
            : provider === undefined
              ? !labelMiddlewares.includes(mwName)
              : false
        ) {
          problems.push(`router ${name}: middleware ${mw} not defined`);
        }
      }
      if (!String(router.service).endsWith("@internal") && !services.includes(router.service))
        problems.push(`router ${name}: service ${router.service} not defined`);
      const resolver = router.tls?.certResolver;
      if (resolver !== undefined && !resolvers.includes(resolver))
        problems.push(`router ${name}: certificate resolver ${resolver} not defined`);
    }
    const websecureResolver = staticConfig.entryPoints?.websecure?.http?.tls?.certResolver;
    if (websecureResolver !== undefined && !resolvers.includes(websecureResolver))
      problems.push(`websecure: certificate resolver ${websecureResolver} not defined`);
    expect(problems).toEqual([]);
  });

  it("uses the certificate source of its mode", () => {
    if (args.tls.mode === "acme") {
      expect(Object.keys(staticConfig.certificatesResolvers ?? {})).toEqual([api.certResolver]);
      expect(staticConfig.certificatesResolvers[args.tls.resolver].acme.storage).toBe(
        `/letsencrypt/${args.tls.storageFile}`,
      );
      expect(fileConfig.tls.certificates).toBeUndefined();
    } else {
      expect(staticConfig.certificatesResolvers).toBeUndefined();
      expect(fileConfig.tls.certificates).toHaveLength(1);
    }
  });
});

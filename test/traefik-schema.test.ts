import { labelsToDynamicConfig, TraefikLabelError, validateDynamic, validateStatic } from "./support";

const API_LABELS: Record<string, string> = {
  "traefik.enable": "true",
  "traefik.docker.network": "proxy",
  "traefik.http.routers.ems.rule": "Host(`api.ems.localhost`)",
  "traefik.http.routers.ems.entrypoints": "websecure",
  "traefik.http.routers.ems.tls": "true",
  "traefik.http.routers.ems.tls.certresolver": "letsencrypt",
  "traefik.http.routers.ems.middlewares": "ems-ratelimit@file, ems-headers",
  "traefik.http.routers.ems.service": "ems",
  "traefik.http.services.ems.loadbalancer.server.port": "8080",
  "traefik.http.services.ems.loadbalancer.healthcheck.path": "/health",
  "traefik.http.middlewares.ems-headers.headers.customresponseheaders.X-Frame-Options": "DENY",
  "traefik.http.middlewares.ems-headers.headers.stsSeconds": "31536000",
  "traefik.http.middlewares.dashboard-auth.basicauth.users": "admin:$apr1$abc$def,ops:$apr1$ghi$jkl",
};

describe("labelsToDynamicConfig", () => {
  it("converts docker labels to the file-provider object", () => {
    expect(labelsToDynamicConfig(API_LABELS)).toEqual({
      http: {
        routers: {
          ems: {
            rule: "Host(`api.ems.localhost`)",
            entryPoints: ["websecure"],
            tls: { certResolver: "letsencrypt" },
            middlewares: ["ems-ratelimit@file", "ems-headers"],
            service: "ems",
          },
        },
        services: {
          ems: { loadBalancer: { healthCheck: { path: "/health" }, servers: [{ url: "http://container:8080" }] } },
        },
        middlewares: {
          "ems-headers": { headers: { customResponseHeaders: { "X-Frame-Options": "DENY" }, stsSeconds: 31536000 } },
          "dashboard-auth": { basicAuth: { users: ["admin:$apr1$abc$def", "ops:$apr1$ghi$jkl"] } },
        },
      },
    });
    expect(validateDynamic(labelsToDynamicConfig(API_LABELS))).toEqual([]);
  });

  it("matches keys case-insensitively, turns tls=true into an enabled section and lists into arrays", () => {
    const config = labelsToDynamicConfig(
      {
        "Traefik.HTTP.Routers.web.Rule": "PathPrefix(`/`)",
        "traefik.http.routers.web.EntryPoints": "web,websecure",
        "traefik.http.routers.web.TLS": "true",
        "traefik.http.routers.web.priority": "10",
        "traefik.http.routers.web.tls.domains[0].main": "ems.example.com",
        "traefik.http.routers.web.tls.domains[0].sans": "a.ems.example.com, b.ems.example.com",
        "traefik.http.services.web.LoadBalancer.Server.Port": "3000",
        "traefik.http.services.web.loadbalancer.server.scheme": "https",
        "traefik.http.services.web.loadbalancer.passhostheader": "false",
        "traefik.http.middlewares.rl.ratelimit.average": "100",
        "traefik.http.middlewares.gz.compress": "true",
      },
      { serverHost: "ems-web" },
    );
    expect(config).toEqual({
      http: {
        routers: {
          web: {
            rule: "PathPrefix(`/`)",
            entryPoints: ["web", "websecure"],
            tls: { domains: [{ main: "ems.example.com", sans: ["a.ems.example.com", "b.ems.example.com"] }] },
            priority: 10,
            service: "web",
          },
        },
        services: { web: { loadBalancer: { passHostHeader: false, servers: [{ url: "https://ems-web:3000" }] } } },
        middlewares: { rl: { rateLimit: { average: 100 } }, gz: { compress: {} } },
      },
    });
    expect(validateDynamic(config)).toEqual([]);
  });

  it("gives a plain tls=true router an empty tls section", () => {
    expect(
      labelsToDynamicConfig({
        "traefik.http.routers.a.rule": "Host(`a`)",
        "traefik.http.routers.a.tls": "true",
        "traefik.http.routers.a.service": "api@internal",
      }),
    ).toEqual({ http: { routers: { a: { rule: "Host(`a`)", tls: {}, service: "api@internal" } } } });
  });

  it.each([
    ["traefik.http.routers.ems.entrypoint", "websecure", '"entrypoint" is not a Traefik setting here'],
    ["traefik.http.routers.ems.tls.certresolvers", "le", '"certresolvers" is not a Traefik setting here'],
    ["traefik.http.middlewares.m.basicauth.user", "a:b", '"user" is not a Traefik setting here'],
    ["traefik.http.middlewares.m.basicaut.users", "a:b", '"basicaut" is not a Traefik setting here'],
    [
      "traefik.http.services.s.loadbalancer.server.prot",
      "80",
      '"server.prot" is not understood (expected port, scheme, url)',
    ],
    ["traefik.http.routes.ems.rule", "Host(`x`)", '"routes" is not a Traefik setting here'],
    [
      "traefik.htp.routers.ems.rule",
      "Host(`x`)",
      "expected traefik.http|tcp|udp.<routers|services|middlewares>.<name>...",
    ],
    ["traefik.http.routers.ems.priority", "high", 'expects integer, got "high"'],
    [
      "traefik.http.routers.ems.tls",
      "yes",
      'is a section: only "true" (enable with defaults) is understood, got "yes"',
    ],
    ["traefik.docker.lbswarm", "true", "expected traefik.http|tcp|udp.<routers|services|middlewares>.<name>..."],
    ["com.example.owner", "me", "is not a Traefik label"],
  ])("rejects %s, naming the label", (label, value, reason) => {
    expect(() => labelsToDynamicConfig({ ...API_LABELS, [label]: value })).toThrow(
      new TraefikLabelError(label, reason),
    );
    expect(() => labelsToDynamicConfig({ [label]: value })).toThrow(`Traefik label "${label}": ${reason}`);
  });
});

describe("validateDynamic", () => {
  it("accepts a file-provider tls + middlewares object", () => {
    expect(
      validateDynamic({
        tls: {
          options: { default: { minVersion: "VersionTLS12", sniStrict: true } },
          stores: {
            default: { defaultCertificate: { certFile: "/certs/local.pem", keyFile: "/certs/local-key.pem" } },
          },
          certificates: [{ certFile: "/certs/local.pem", keyFile: "/certs/local-key.pem" }],
        },
        http: { middlewares: { "ems-ratelimit": { rateLimit: { average: 100, burst: 200 } } } },
      }),
    ).toEqual([]);
  });

  it("reports schema violations", () => {
    expect(validateDynamic({ tls: { options: { default: { minVersion: 12 } } } })).toEqual([
      "/tls/options/default/minVersion must be string",
    ]);
    expect(
      validateDynamic({ http: { routers: { r: { rule: "Host(`x`)", service: "s", entryPoints: "websecure" } } } }),
    ).toEqual(["/http/routers/r/entryPoints must be array"]);
    expect(validateDynamic({ http: { routers: { r: { rule: "Host(`x`)" } } } })).toEqual([
      "/http/routers/r must have required property 'service'",
    ]);
    expect(validateDynamic("tls:\n  option: {}\n")).toEqual(["/tls must NOT have additional properties (option)"]);
  });
});

describe("validateStatic", () => {
  const valid = {
    entryPoints: {
      web: { address: ":80", http: { redirections: { entryPoint: { to: "websecure", scheme: "https" } } } },
      websecure: { address: ":443" },
    },
    providers: {
      docker: { exposedByDefault: false, network: "proxy" },
      file: { filename: "/etc/traefik/dynamic.yml", watch: true },
    },
    certificatesResolvers: {
      letsencrypt: {
        acme: { email: "ops@example.com", storage: "/acme/acme.json", httpChallenge: { entryPoint: "web" } },
      },
    },
    api: { dashboard: true },
    log: { level: "INFO" },
    accessLog: {},
    ping: {},
  };

  it("accepts a traefik.yml object", () => {
    expect(validateStatic(valid)).toEqual([]);
  });

  it("reports schema violations, and unknown top-level keys", () => {
    expect(validateStatic({ ...valid, entryPoints: { websecure: { address: 443 } } })).toEqual([
      "/entryPoints/websecure/address must be string",
    ]);
    expect(validateStatic({ ...valid, providers: { docker: { exposedbydefault: false } } })).toEqual([
      "/providers/docker must NOT have additional properties (exposedbydefault)",
    ]);
    expect(validateStatic({ ...valid, entrypoints: {} })).toEqual([
      "(root) must NOT have additional properties (entrypoints)",
    ]);
  });
});

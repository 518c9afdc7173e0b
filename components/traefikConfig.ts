/** How Traefik gets its certificates: files made by mkcert (dev) or Let's Encrypt over HTTP-01 (prod). */
export type TraefikTls =
  | { mode: "mkcert"; certsDir: string }
  | {
      mode: "acme";
      /** Let's Encrypt account e-mail. */
      email: string;
      /** Host folder holding the storage file. */
      storageDir: string;
      /** The storage file (today's VPS: ems_system.json); its certificates are kept under the resolver's name. */
      storageFile: string;
      /** Resolver name (today's VPS: ems_system_resolver). */
      resolver: string;
    };

export interface TraefikConfigArgs {
  /** Certificate source. */
  tls: TraefikTls;
  /** Docker network Traefik reaches the routed containers on. */
  network: string;
  /** Whether the dashboard is served (on its own router, behind basic auth). */
  dashboard: boolean;
  /** Requests per second allowed to each API client, and the burst above it. */
  rateLimit: { average: number; burst: number };
  /** Where routed services are read from: container labels (`docker`, default) or Swarm service labels. */
  provider?: "docker" | "swarm";
  /** The Engine API the docker provider reads (the socket proxy, `tcp://…:2375`). */
  dockerEndpoint?: string;
  /** `com.ems.system` values of the containers Traefik routes (its own system, and any sharing this Traefik). */
  systems?: string[];
}

/** The label every container of a system carries (set by the program); Traefik routes no container without it. */
const SYSTEM_LABEL = "com.ems.system";

/** Traefik's provider constraint: only containers labelled with one of the systems are read. */
function systemConstraint(systems: string[]): string {
  if (systems.length === 0) throw new Error("systemConstraint: at least one system");
  for (const s of systems) {
    // Backquotes end a value in Traefik's constraint grammar: a system name never has one (stacks/grammar.ts).
    if (!/^[A-Za-z0-9_.-]+$/.test(s)) throw new Error(`systemConstraint: ${JSON.stringify(s)} is not a system name`);
  }
  return systems.map((s) => `Label(\`${SYSTEM_LABEL}\`, \`${s}\`)`).join(" || ");
}

/** Where the container sees its files. */
export const TRAEFIK_PATHS = {
  staticConfig: "/etc/traefik/traefik.yml",
  dynamicDir: "/etc/traefik/dynamic",
  certsDir: "/certs",
  acmeDir: "/letsencrypt",
  /** The Docker socket: only a swarm manager's Traefik mounts it (the single-host one reads the socket proxy). */
  dockerSocket: "/var/run/docker.sock",
} as const;

/** The seed's mkcert file names in servers/infra/certs. */
export const MKCERT_FILES = { cert: "local.pem", key: "local-key.pem" } as const;

const ENTRYPOINT_WEB = "web";
export const ENTRYPOINT_WEBSECURE = "websecure";
/**
 * Middlewares defined once in the file provider and referenced by every API router. `api-retry` sends a request
 * that could not reach a container (the old one just died, before Traefik dropped it) to another one.
 */
export const API_MIDDLEWARES = ["api-retry@file", "security-headers@file", "api-ratelimit@file"];
/** Middlewares of the admin routers (the dashboard, a public Portainer): headers and a login throttle. */
export const ADMIN_MIDDLEWARES = ["security-headers@file", "admin-ratelimit@file"];
/** Requests per second per client on the admin routers: a page load fits in the burst, a password guesser does not. */
const ADMIN_RATE_LIMIT = { average: 5, burst: 50 } as const;

/** Attempts of the retry middleware: enough to reach the other container of a service during a release. */
export const RETRY_ATTEMPTS = 3;

/** The static configuration written to traefik.yml. */
export function traefikStaticConfig(args: TraefikConfigArgs): Record<string, unknown> {
  const websecureTls = args.tls.mode === "acme" ? { certResolver: args.tls.resolver } : {};
  return {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    entryPoints: {
      [ENTRYPOINT_WEB]: {
        address: ":80",
        http: { redirections: { entryPoint: { to: ENTRYPOINT_WEBSECURE, scheme: "https", permanent: true } } },
      },
      [ENTRYPOINT_WEBSECURE]: { address: ":443", http: { tls: websecureTls } },
    },
    providers: {
      [args.provider ?? "docker"]: {
        // The socket proxy when given (the docker provider); the socket itself otherwise (a swarm manager).
        endpoint: args.dockerEndpoint ?? `unix://${TRAEFIK_PATHS.dockerSocket}`,
        exposedByDefault: false,
        network: args.network,
        ...(args.systems ? { constraints: systemConstraint(args.systems) } : {}),
      },
      file: { directory: TRAEFIK_PATHS.dynamicDir, watch: true },
    },
    ...(args.tls.mode === "acme"
      ? {
          certificatesResolvers: {
            [args.tls.resolver]: {
              acme: {
                email: args.tls.email,
                storage: `${TRAEFIK_PATHS.acmeDir}/${args.tls.storageFile}`,
                httpChallenge: { entryPoint: ENTRYPOINT_WEB },
              },
            },
          },
        }
      : {}),
    api: { dashboard: args.dashboard },
    ping: {},
    log: { level: "INFO" },
    accessLog: {
      format: "json",
      fields: { headers: { defaultMode: "drop", names: { "User-Agent": "keep", "Content-Type": "keep" } } },
    },
  };
}

/** The file provider's TLS configuration (the seed's certs/tls.yml): options and, for mkcert, the certificate. */
function traefikTlsConfig(args: TraefikConfigArgs): Record<string, unknown> {
  const certificate = {
    certFile: `${TRAEFIK_PATHS.certsDir}/${MKCERT_FILES.cert}`,
    keyFile: `${TRAEFIK_PATHS.certsDir}/${MKCERT_FILES.key}`,
  };
  return {
    tls: {
      options: { default: { minVersion: "VersionTLS12", sniStrict: args.tls.mode === "acme" } },
      ...(args.tls.mode === "mkcert"
        ? { certificates: [certificate], stores: { default: { defaultCertificate: certificate } } }
        : {}),
    },
  };
}

/** The middlewares every API router uses, defined once in the file provider. */
function traefikMiddlewaresConfig(args: TraefikConfigArgs): Record<string, unknown> {
  return {
    http: {
      middlewares: {
        "security-headers": {
          headers: {
            stsSeconds: 31536000,
            stsIncludeSubdomains: true,
            contentTypeNosniff: true,
            frameDeny: true,
            browserXssFilter: true,
            referrerPolicy: "no-referrer",
          },
        },
        "api-ratelimit": { rateLimit: { average: args.rateLimit.average, burst: args.rateLimit.burst } },
        "admin-ratelimit": { rateLimit: { ...ADMIN_RATE_LIMIT } },
        "api-retry": { retry: { attempts: RETRY_ATTEMPTS, initialInterval: "100ms" } },
      },
    },
  };
}

/** The files of the dynamic configuration folder, by name. */
export function traefikDynamicFiles(args: TraefikConfigArgs): Record<string, Record<string, unknown>> {
  return { "tls.yml": traefikTlsConfig(args), "middlewares.yml": traefikMiddlewaresConfig(args) };
}

/** Everything the file provider serves, as one dynamic-configuration object (what Traefik merges). */
export function traefikDynamicConfig(args: TraefikConfigArgs): Record<string, unknown> {
  return { ...traefikMiddlewaresConfig(args), ...traefikTlsConfig(args) };
}

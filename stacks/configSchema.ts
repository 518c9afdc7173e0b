/** The zod schema of the stack config (`ems-infra:*` keys) and of its secrets. */
import * as net from "net";
import { z } from "zod";
import { apiAtLeast, MIN_ENGINE_API } from "../components/engine";
import * as g from "./grammar";

/** Where under $HOME the servers write their log file (real-system.md §1.1). */
export const SERVER_LOG_FOLDER = "Documents/MeuAppDart/logs";

/** The `name` in Pulumi.yaml: every config key is `<PROJECT>:<key>`. */
export const PROJECT = "ems-infra";

/** Keys that hold credentials: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = [
  "ghcrToken",
  "postgresPassword",
  "serviceSecrets",
  "dashboardPassword",
  "portainerPassword",
  "backupOffsite",
] as const;

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Environment variables the program sets itself from other keys: never set by hand in `env`. */
const MANAGED_ENV = [
  "DB_HOST",
  "DB_PORT",
  "DB_USER",
  "DB_NAME",
  "VERIFICATION_LINK_BASE_URL",
  "ENV",
  "ENVIRONMENT",
  "APP_VERSION",
  "UPLOAD_PATH",
  "HOME",
  "EMAIL_SERVICE_HOST",
  "EMAIL_SERVICE_PORT",
  "EMAIL_SERVICE_FROM",
  "EMAIL_SERVICE_FROM_NAME",
] as const;
/** The credentials among the servers' variables: they only come from `serviceSecrets`. */
const CREDENTIAL_ENV = ["JWT_KEY", "API_KEY", "DB_PASS", "EMAIL_SERVICE_API_KEY"] as const;

const positiveMb = (min: number) => z.number().int().min(min, `must be at least ${min} (MiB)`);
/** A text setting that must not be "" (the first check: a longer rule is not reported on top of it). */
const nonEmpty = () => z.string().min(1, { message: "must not be empty", abort: true });
const port = z
  .number()
  .int()
  .min(1, "must be a port number from 1 to 65535")
  .max(65535, "must be a port number from 1 to 65535");
const seconds = (min: number, why: string) => z.number().int().min(min, `must be at least ${min} seconds (${why})`);
const containerPath = g.containerPath;
const containerName = () => g.dockerName("container");
const volumeName = () => g.dockerName("volume");
/** An image reference pinned as the policy pack requires (components/imageRef.ts: one rule for both). */
const pinnedImage = g.pinnedImage();
/** A host folder: absolute, `~/…` or relative to the project (production requires absolute, config.ts). */
const hostPath = () => g.hostPath();

/** A host address 80/443 are published on (an IPv4 or IPv6 address, no brackets). */
const listenAddress = z.string().refine((v) => net.isIP(v) !== 0, "must be an IPv4 or IPv6 address");
/** A client network in CIDR notation (`203.0.113.7/32`, `2001:db8::/48`). */
const cidr = z.string().refine((v) => {
  const [ip, bits, extra] = v.split("/");
  const family = net.isIP(ip ?? "");
  const max = family === 4 ? 32 : 128;
  return family !== 0 && extra === undefined && /^\d{1,3}$/.test(bits ?? "") && Number(bits) <= max;
}, "must be an address range in CIDR notation, e.g. 203.0.113.7/32");

const version = nonEmpty().regex(IMAGE_TAG, "must be a valid image tag");

const envVars = z.record(
  z.string().regex(ENV_NAME, "is not an environment variable name (upper-case letters, digits, _)"),
  z.string().refine((v) => !/[\n\r\0]/.test(v), "must not contain a newline, carriage return or NUL"),
);

export const serviceSchema = z
  .object({
    /** Image tag deployed (e.g. `1.2.1`); `latest` only with `imageSource: local`. */
    version,
    /** Image repository; defaults to `<registry.server>/<registry.namespace>/<registry.repository>`. */
    image: g.repositoryOnly().optional(),
    /** `registry`: pulled (and pinned by digest); `local`: an image built on this machine (dev.sh), run by its id. */
    imageSource: z.enum(["registry", "local"], { error: () => `must be "registry" or "local"` }).default("registry"),
    /** Port the server listens on inside the container (compiled into the server: EMS 8181, SMS 8080). */
    port: port.default(8080),
    /** Path answered 200 (with the service's x-api-key) when the server is healthy. */
    healthPath: g.urlPath().default("/api/v1/health"),
    /** Path of the e-mail verification link; VERIFICATION_LINK_BASE_URL is `https://<host><verifyPath>`. */
    verifyPath: g.urlPath().default("/api/v1/auth/verify"),
    /** Full public host name; defaults to `api.<service>.<domain>`. */
    host: g.hostName().optional(),
    /** Database the service uses; defaults to `<service>_production` in production, `<service>` otherwise. */
    database: g.databaseName().optional(),
    /** Login role the service connects as (owns its database, nothing else); defaults to `<service>_user`. */
    role: g.roleName().optional(),
    /** Memory limit of the container. */
    memoryMb: positiveMb(64).default(512),
    /** Host folder mounted at the container's uploads folder (the seed's UPLOADS_HOST_PATH). */
    uploadsHostPath: hostPath().optional(),
    /** Host folder mounted at the container's logs folder (the seed's LOGS_HOST_PATH). */
    logsHostPath: hostPath().optional(),
    /** Where the server writes uploads (UPLOAD_PATH). */
    uploadsDir: containerPath().default("/app/uploads"),
    /** HOME of the server process: its log file is `$HOME/Documents/MeuAppDart/logs/app_logs.txt`. */
    homeDir: containerPath().default("/app"),
    /** Where the server writes its log file (mounted from logsHostPath). */
    logsDir: containerPath().default(`/app/${SERVER_LOG_FOLDER}`),
    /** The server's command line inside the image. */
    command: z.array(g.oneLine()).min(1, "must name the server binary").default(["/app/bin/server"]),
    /** The health gate. */
    health: z
      .object({
        /** How long a new version may take to answer 200 before the deploy fails (the old one keeps serving). */
        timeoutSeconds: seconds(10, "a server needs time to start").default(120),
        /** Probe interval once healthy: the servers allow 20 requests a minute for all clients together. */
        intervalSeconds: seconds(
          60,
          "the servers' 20 requests/minute are shared with the clients: at most 1 probe a minute",
        ).default(60),
        /** Probe interval while starting (Docker 25+), a short burst during a deploy. */
        startIntervalSeconds: seconds(1, "a probe needs time").default(2),
      })
      .strict()
      .default({ timeoutSeconds: 120, intervalSeconds: 60, startIntervalSeconds: 2 }),
    /** Tasks of the service on the swarm (`platform: swarm`; the docker platform runs one container). */
    replicas: z.number().int().min(1, "must be at least 1 (a service with no task serves nothing)").default(2),
    /** Extra non-secret environment variables. */
    env: envVars
      .refine((env) => !Object.keys(env).some((k) => (CREDENTIAL_ENV as readonly string[]).includes(k)), {
        message: `must not hold ${CREDENTIAL_ENV.join(", ")}: they are credentials (serviceSecrets)`,
      })
      .refine((env) => !Object.keys(env).some((k) => (MANAGED_ENV as readonly string[]).includes(k)), {
        message: `must not set ${MANAGED_ENV.join(", ")}: the program sets them from the other keys`,
      })
      .default({}),
  })
  .strict();

export const tlsSchema = z.discriminatedUnion("mode", [
  z
    .object({
      mode: z.literal("mkcert"),
      /** Folder holding local.pem / local-key.pem (the seed's servers/infra/certs). */
      certsDir: hostPath(),
    })
    .strict(),
  z
    .object({
      mode: z.literal("acme"),
      /** Let's Encrypt account e-mail. */
      email: g.email(),
      /** Folder holding the ACME storage file, shared by every system on the host. */
      storageDir: hostPath(),
      /** The ACME storage file in storageDir (keep today's, or every certificate is issued again). */
      storageFile: nonEmpty()
        .regex(/^[A-Za-z0-9_.-]+\.json$/, "must be a file name ending in .json")
        .default("acme.json"),
      /** Name of the certificate resolver; the storage file keeps its certificates under this name. */
      resolver: nonEmpty()
        .regex(/^[A-Za-z0-9_-]+$/, "must be a name of letters, digits, _ and -")
        .default("letsencrypt"),
    })
    .strict(),
]);

const dashboardSchema = z
  .object({
    /** Serve Traefik's dashboard at `traefik.<domain>` (production: behind basic auth, `dashboardPassword`). */
    enabled: z.boolean().default(false),
    /** Host name of the dashboard; defaults to `traefik.<domain>`. */
    host: g.hostName().optional(),
    /** Basic-auth user (production). */
    user: nonEmpty()
      .regex(/^[a-z][a-z0-9_-]*$/, "must be a lower-case user name")
      .default("admin"),
  })
  .strict();

/** A node label key (`docker node update --label-add`, `node.labels.<key>` in a placement constraint). */
const NODE_LABEL_KEY = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
const NODE_LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** `key=value`: the node label a pinned service's placement constraint requires. */
const nodeLabel = () =>
  nonEmpty().regex(
    /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?=[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "must be a node label as key=value (lower-case key of letters, digits, . _ -; value of letters, digits, . _ -)",
  );

const swarmNodeSchema = z
  .object({
    /** The node's address: SSH reaches it there and it advertises it to the swarm (IPv4, IPv6 or host name). */
    address: g.hostOrAddress(),
    /** SSH user on the node (in the docker group, or root). */
    user: g.userName().default("root"),
    /** SSH port of the node. */
    port: port.default(22),
    /** `manager` (holds the Raft log; 1, 3 or 5 of them) or `worker`. */
    role: z.enum(["manager", "worker"], { error: () => `must be "manager" or "worker"` }),
    /** Node labels (`ems.postgres: "true"` where Postgres's volume lives, `ems.acme: "true"` for Traefik's ACME store). */
    labels: z
      .record(
        z.string().regex(NODE_LABEL_KEY, "must be a node label key: lower-case letters, digits, . _ -"),
        z.string().regex(NODE_LABEL_VALUE, "must be a node label value: letters, digits, . _ -"),
      )
      .default({}),
  })
  .strict();

/** One NFS mount option (`nfsvers=4`, `hard`, `timeo=600`): it joins Docker's comma-separated `o=` list. */
const NFS_OPTION = /^[a-z][a-z0-9_]*(?:=[A-Za-z0-9_.-]+)?$/;
/** An NFS export path: absolute, folder names of letters, digits, . _ - (it becomes the volume's `device`). */
const NFS_EXPORT_PATH = /^(?:\/[A-Za-z0-9_.-]+)+$/;

const sharedStorageSchema = z
  .object({
    /** Only NFS: Docker's local volume driver mounts it on each node a task runs on. */
    type: z.literal("nfs", { error: () => `must be "nfs"` }),
    /** The NFS server's IP address (the kernel's NFS mount takes an address, passed as addr=). */
    address: z.string().refine((v) => net.isIP(v) !== 0, { message: "must be an IPv4 or IPv6 address" }),
    /** The exported folder; each API's uploads are in `<path>/<system>/<service>`, which must exist on it. */
    path: z
      .string()
      .regex(NFS_EXPORT_PATH, "must be an absolute path of folder names of letters, digits, . _ -")
      .refine((v) => !v.split("/").some((seg) => seg === "." || seg === ".."), {
        message: "must not contain a . or .. segment",
      }),
    /** Mount options besides addr (set from address). */
    options: z
      .array(
        z
          .string()
          .regex(NFS_OPTION, "must be a mount option like nfsvers=4 or hard (letters, digits, _ and a =value)")
          .refine((o) => !o.startsWith("addr="), { message: "must not set addr (it comes from address)" }),
      )
      .default(["nfsvers=4"]),
  })
  .strict();

export const swarmSchema = z
  .object({
    /** The cluster's machines; the first manager initialises the swarm, the others join it. */
    nodes: z.array(swarmNodeSchema).min(1, "must list at least one node"),
    /** Which node runs each single-copy service with data on its disk, by node label. */
    pins: z
      .object({
        /** The node holding Postgres's volume. */
        postgres: nodeLabel().default("ems.postgres=true"),
        /** The node holding Traefik's ACME store (Traefik CE cannot share it across nodes). */
        traefik: nodeLabel().default("ems.acme=true"),
        /** The node holding Portainer's data volume. */
        portainer: nodeLabel().default("ems.acme=true"),
        /** The node holding the APIs' uploads (every API task runs there); defaults to the Postgres pin. */
        uploads: nodeLabel().optional(),
      })
      .strict()
      .default({ postgres: "ems.postgres=true", traefik: "ems.acme=true", portainer: "ems.acme=true" })
      .transform((pins) => ({ ...pins, uploads: pins.uploads ?? pins.postgres })),
    /** Uploads on a shared NFS export instead of the uploads node's disk: the API tasks then spread across nodes. */
    sharedStorage: sharedStorageSchema.optional(),
    /** Private key file for SSH to the nodes (else the SSH agent). */
    identityFile: g.hostPath({ sshOption: true }).optional(),
    /** known_hosts file holding every node's host key. */
    knownHostsFile: g.hostPath({ sshOption: true }).default("~/.ssh/known_hosts"),
  })
  .strict();
const OFFSITE_DEFAULTS = {
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 6,
  drillSchedule: "0 5 * * 0",
  maxAgeHours: 30,
  drillMaxAgeDays: 8,
};

const offsiteSchema = z
  .object({
    /** Snapshots kept: the newest of each of the last N days (restic forget --keep-daily). */
    keepDaily: z.number().int().min(1, "must be at least 1 (the newest snapshot is always kept)").default(7),
    /** ... of each of the last N weeks (--keep-weekly). */
    keepWeekly: z.number().int().min(0, "must be 0 or more").default(4),
    /** ... of each of the last N months (--keep-monthly). */
    keepMonthly: z.number().int().min(0, "must be 0 or more").default(6),
    /** Cron schedule of the restore drill (5 fields, host time zone); weekly by default. */
    drillSchedule: g.cronSchedule().default("0 5 * * 0"),
    /** `npm run status` exits 1 when the last off-site backup is older than this. */
    maxAgeHours: z.number().int().min(1, "must be at least 1").default(30),
    /** `npm run status` exits 1 when the last successful drill is older than this. */
    drillMaxAgeDays: z.number().int().min(1, "must be at least 1").default(8),
  })
  .strict();

/** `true`/`false`: `pulumi config set --path` stores a boolean, a hand-edited stack file may hold the text. */
const flag = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")], {
  error: "must be true or false",
});

/** The engine facts the containers adapt to (components/engine.ts); unset: a current engine is assumed. */
export const engineSchema = z
  .object({
    /** `docker version --format '{{.Server.APIVersion}}'`, e.g. 1.41. */
    apiVersion: z
      .string()
      .regex(/^\d+\.\d+$/, { message: "must be a Docker Engine API version like 1.44", abort: true })
      .refine(
        (v) => apiAtLeast(v, MIN_ENGINE_API),
        `is older than the oldest Docker Engine API the program supports (${MIN_ENGINE_API}, Docker 20.10)`,
      )
      .optional(),
    /** `docker info --format '{{json .SwapLimit}}'`: the kernel keeps swap limits. */
    swapLimit: flag.optional(),
  })
  .strict()
  .default({});

export const rawSchema = z
  .object({
    environment: z.enum(["development", "production"], {
      error: (issue) => (issue.input === undefined ? undefined : `must be "development" or "production"`),
    }),
    system: g.grammar(g.systemNameProblem).default("ems_system"),
    /** The domain every default host name is built on (`api.<service>.<domain>`). */
    domain: z
      .string()
      .trim()
      .min(1, { message: "must not be empty", abort: true })
      .superRefine(g.refuse(g.hostNameProblem)),
    paths: z
      .object({
        /** Root of uploads/, logs/ and backups/ (seed: .dev-data or /root/<system>/data). */
        data: hostPath(),
        /** Folder for credentials on the host (mode 700); prod only. */
        secrets: hostPath().optional(),
      })
      .strict(),
    tls: tlsSchema,
    docker: z.object({ host: g.dockerEndpoint().optional() }).strict().default({}),
    /** What the target Docker engine reported to the ops pre-flight (written by deploy/rollback/rotate/migrate). */
    engine: engineSchema,
    ssh: z
      .object({
        /** The VPS: a host name, an IPv4 or an IPv6 address (no brackets). */
        host: g.hostOrAddress(),
        user: g.userName().default("root"),
        port: port.default(22),
        /** Private key file used by the Docker provider and the host commands alike (else the SSH agent). */
        identityFile: g.hostPath({ sshOption: true }).optional(),
        /** known_hosts file holding the VPS's host key (verified, never accepted blindly). */
        knownHostsFile: g.hostPath({ sshOption: true }).default("~/.ssh/known_hosts"),
      })
      .strict()
      .optional(),
    registry: z
      .object({
        server: g.registryHost().default("ghcr.io"),
        namespace: nonEmpty()
          .regex(
            /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
            "must be a lower-case registry namespace like edumigsoft",
          )
          .default("edumigsoft"),
        username: g.oneLine().default("edumigsoft"),
        /** How a service's repository is named: `{service}` is replaced by the service name. */
        repository: nonEmpty()
          .regex(/^[a-z0-9._/{}-]+$/, "must be a lower-case repository name, with {service} for the service name")
          .refine((r) => r.includes("{service}"), "must contain {service}")
          .default("{service}-server"),
      })
      .strict()
      .default({ server: "ghcr.io", namespace: "edumigsoft", username: "edumigsoft", repository: "{service}-server" }),
    traefik: z
      .object({
        image: pinnedImage.default("traefik:v3.6.1"),
        /** Fixed container name (not `traefik`: the old compose one is kept, stopped, during the cut-over). */
        containerName: containerName().default("infra_traefik"),
        /** Docker network shared by Traefik and every routed container. */
        network: g.dockerName("network").default("proxy"),
        /** true: the network already exists on the host (made by hand or by another system) and is only joined. */
        externalNetwork: z.boolean().default(false),
        /** false on a second system of the same host: its Traefik is already there. */
        manage: z.boolean().default(true),
        dashboard: dashboardSchema.default({ enabled: false, user: "admin" }),
        /** Host folder of the dynamic configuration (watched by Traefik: a change needs no restart). */
        dynamicDir: hostPath().optional(),
        /** Also listen on IPv6 (where the host has it). */
        ipv6: z.boolean().default(true),
        /**
         * Host addresses 80/443 are published on; default: 127.0.0.1 (and ::1) in development, so the laptop
         * serves nothing to its network, 0.0.0.0 (and ::) in production.
         */
        listen: z.array(listenAddress).min(1, "must list at least one address").optional(),
        /** The systems (`com.ems.system` label) whose containers this Traefik routes; default: this system only. */
        systems: z.array(g.grammar(g.systemNameProblem)).min(1, "must list at least one system").optional(),
        memoryMb: positiveMb(32).default(256),
        rateLimit: z
          .object({
            average: z.number().int().positive("must be greater than 0"),
            burst: z.number().int().positive("must be greater than 0"),
          })
          .strict()
          .default({ average: 100, burst: 200 }),
      })
      .strict()
      .default({
        image: "traefik:v3.6.1",
        containerName: "infra_traefik",
        network: "proxy",
        externalNetwork: false,
        manage: true,
        dashboard: { enabled: false, user: "admin" },
        ipv6: true,
        memoryMb: 256,
        rateLimit: { average: 100, burst: 200 },
      }),
    portainer: z
      .object({
        enabled: z.boolean().default(true),
        image: pinnedImage.default("portainer/portainer-ce:2.27.3"),
        containerName: containerName().default("infra_portainer"),
        /** Data volume (compose named it `infra_portainer_data` / `infra_portainer_data_dev`): adopted as it is. */
        volume: volumeName().default("infra_portainer_data"),
        /** Host name; defaults to `portainer.<domain>`. */
        host: g.hostName().optional(),
        memoryMb: positiveMb(64).default(256),
        /**
         * Routed by Traefik at `host` (behind `allowFrom`); default: true in development (the laptop's loopback),
         * false in production, where Portainer is reached through an SSH tunnel only (`npm run tunnel`).
         */
        public: z.boolean().optional(),
        /** Client address ranges (CIDR) a public Portainer answers; required when it is public in production. */
        allowFrom: z.array(cidr).default([]),
        /** Port on the host's 127.0.0.1 a non-public Portainer is published on (the SSH tunnel's end). */
        tunnelPort: port.default(9000),
        /** The agent every swarm node runs (`platform: swarm`), of the same release as the server. */
        agentImage: pinnedImage.default("portainer/agent:2.27.3"),
      })
      .strict()
      .default({
        enabled: true,
        image: "portainer/portainer-ce:2.27.3",
        containerName: "infra_portainer",
        volume: "infra_portainer_data",
        memoryMb: 256,
        allowFrom: [],
        tunnelPort: 9000,
        agentImage: "portainer/agent:2.27.3",
      }),
    socketProxy: z
      .object({
        /** Pinned official haproxy image running the generated read-only allow-list (README, "Security"). */
        image: pinnedImage.default("haproxy:3.0.5"),
        /** Fixed container name: Traefik's docker endpoint is `tcp://<containerName>:2375`. */
        containerName: containerName().optional(),
      })
      .strict()
      .default({ image: "haproxy:3.0.5" }),
    postgres: z
      .object({
        image: pinnedImage.default("postgres:17.6-alpine"),
        /** The superuser (the one that exists on an adopted volume; `postgres` on the VPS). */
        user: g.sqlIdentifier().default("postgres"),
        /** Fixed container name: the APIs' DB_HOST and the backup job's `docker exec` target. */
        containerName: containerName().optional(),
        memoryMb: positiveMb(128).default(1024),
        /** Name of the data volume; an existing one (the compose volume) is adopted as it is. */
        volume: volumeName().optional(),
        /** Major version the data volume was initialised with; the image's major must match it. */
        dataVersion: z.number().int().min(9, "must be a PostgreSQL major version (9 or later)").default(17),
        /** Refuses to publish Postgres on the host: it stays on the internal network. */
        hostPort: z.undefined({ error: "Postgres is never published on a host port" }).optional(),
      })
      .strict()
      .default({ image: "postgres:17.6-alpine", user: "postgres", memoryMb: 1024, dataVersion: 17 }),
    services: z
      .record(g.grammar(g.serviceNameProblem), serviceSchema)
      .refine((s) => Object.keys(s).length > 0, "must list at least one service"),
    email: z
      .object({
        /** SMTP relay service host (EMAIL_SERVICE_HOST). */
        host: g.hostOrAddress(),
        /** Its port (EMAIL_SERVICE_PORT). */
        port: port.default(587),
        /** Sender address (EMAIL_SERVICE_FROM). */
        from: g.email(),
        /** Sender name (EMAIL_SERVICE_FROM_NAME). */
        fromName: g.oneLine().default("EMS System"),
      })
      .strict()
      .optional(),
    backup: z
      .object({
        schedule: g.cronSchedule().default("0 3 * * *"),
        keepDaily: z.number().int().min(1, "must be at least 1 (the newest backup is always kept)").default(14),
        keepWeekly: z.number().int().min(0, "must be 0 or more").default(8),
        /** The off-site copy (restic); on when the secret `backupOffsite` (repository, password) is set. */
        offsite: offsiteSchema.default(OFFSITE_DEFAULTS),
      })
      .strict()
      .default({ schedule: "0 3 * * *", keepDaily: 14, keepWeekly: 8, offsite: OFFSITE_DEFAULTS }),
    release: z
      .object({
        /** Image versions kept per service after a deploy (the rollback window); older ones are removed. */
        keepImages: z.number().int().min(2, "must be at least 2 (the running and the previous version)").default(3),
      })
      .strict()
      .default({ keepImages: 3 }),
    migration: z
      .object({
        from: z
          .object({
            letsencrypt: hostPath().optional(),
            /** Old uploads folder per service; a key naming no service is refused (config.ts). */
            uploads: z.record(z.string(), hostPath()).default({}),
          })
          .strict(),
      })
      .strict()
      .optional(),
    /** `docker`: one engine runs containers (today). `swarm`: services on the cluster in `swarm.nodes`. */
    platform: z.enum(["docker", "swarm"], { error: () => `must be "docker" or "swarm"` }).default("docker"),
    /** The cluster (`platform: swarm` only). */
    swarm: swarmSchema.optional(),
    /**
     * Set only by `npm run switch-platform` while it moves the stack (the old platform's containers stopped): the
     * platform a `pulumi up` may move to. Without it the program refuses a platform change (stacks/platformGuard.ts).
     */
    platformSwitch: z.enum(["docker", "swarm"], { error: () => `must be "docker" or "swarm"` }).optional(),
  })
  .strict();

const secretString = nonEmpty();
export const serviceSecretsSchema = z
  .object({
    /** JWT_KEY; generated when absent. */
    jwtKey: secretString.min(16, "must be at least 16 characters").optional(),
    /** API_KEY clients send as x-api-key; generated when absent. */
    apiKey: secretString.min(8, "must be at least 8 characters").optional(),
    /** Password of the service's database role (DB_PASS); generated when absent. */
    dbPassword: secretString.min(12, "must be at least 12 characters").optional(),
    /** EMAIL_SERVICE_API_KEY; no e-mail is sent without it. */
    emailApiKey: secretString.optional(),
    /** Any other secret environment variable of the service. */
    env: envVars.default({}),
  })
  .strict();

export const secretsSchema = z
  .object({
    ghcrToken: secretString.optional(),
    postgresPassword: secretString.min(12, "must be at least 12 characters").optional(),
    serviceSecrets: z.record(z.string(), serviceSecretsSchema).default({}),
    dashboardPassword: secretString.min(12, "must be at least 12 characters").optional(),
    /** Portainer's admin password (Portainer requires 12 characters); generated when absent. */
    portainerPassword: secretString.min(12, "must be at least 12 characters").optional(),
    /** The off-site restic repository, its password and the target's credentials. */
    backupOffsite: z
      .object({
        /** Any restic repository: sftp:, s3:, rest:, b2:, azure:, gs:, rclone: … */
        repository: secretString.regex(/^[^\n\r\0]+$/, "must be one line"),
        /** The repository's encryption password (keep a copy off the VPS: without it nothing can be restored). */
        password: secretString.min(12, "must be at least 12 characters"),
        /** The target's credentials as restic reads them, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
        env: envVars
          .refine((e) => !("RESTIC_REPOSITORY" in e) && !("RESTIC_PASSWORD" in e), {
            message: "must not set RESTIC_REPOSITORY or RESTIC_PASSWORD (they are repository and password)",
          })
          .default({}),
      })
      .strict()
      .optional(),
  })
  .strict();

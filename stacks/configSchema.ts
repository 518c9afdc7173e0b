/** The zod schema of the stack config (`ems-infra:*` keys) and of its secrets. */
import { z } from "zod";

/** The `name` in Pulumi.yaml: every config key is `<PROJECT>:<key>`. */
export const PROJECT = "ems-infra";

/** Keys that hold credentials: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["ghcrToken", "postgresPassword", "serviceSecrets", "sshPrivateKey", "dashboardPassword"] as const;

const NAME = /^[a-z][a-z0-9_]*$/;
const DB_NAME = /^[a-z_][a-z0-9_]*$/;
const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CRON = /^(\S+\s+){4}\S+$/;

const positiveMb = (min: number) => z.number().int().min(min, `must be at least ${min} (MiB)`);
/** A text setting that must not be "" (the first check: a longer rule is not reported on top of it). */
const nonEmpty = () => z.string().min(1, { message: "must not be empty", abort: true });
const port = z.number().int().min(1, "must be a port number from 1 to 65535").max(65535, "must be a port number from 1 to 65535");

/** An image reference `repo:tag` or `repo@sha256:...` whose tag is pinned (never `latest`, never missing). */
const pinnedImage = z.string().refine(isPinnedImage, {
  message: "must name a pinned tag or digest (e.g. postgres:16.6), never `latest` or no tag",
});

export function isPinnedImage(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true;
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon <= slash) return false;
  const tag = image.slice(colon + 1);
  return IMAGE_TAG.test(tag) && tag !== "latest";
}

const version = nonEmpty()
  .regex(IMAGE_TAG, "must be a valid image tag")
  .refine((v) => v !== "latest", "must be a pinned version, not `latest`");

export const serviceSchema = z
  .object({
    /** Image tag deployed (e.g. `1.4.2`). */
    version,
    /** Image repository; defaults to `<registry.server>/<registry.namespace>/<service>`. */
    image: nonEmpty()
      .refine((image) => !/[:@]/.test(image.slice(image.lastIndexOf("/") + 1)), "must be a repository without a tag or digest: the tag is the service's version")
      .optional(),
    /** Port the API listens on inside the container. */
    port: port.default(8080),
    /** HTTP path answered with 2xx when the API is healthy. */
    healthPath: z.string().startsWith("/", "must start with /").default("/health"),
    /** Full public host name; defaults to `api.<service>.<domain>`. */
    host: nonEmpty().optional(),
    /** Database the service uses; defaults to the service name. */
    database: z.string().regex(DB_NAME, "must be a lower-case SQL identifier").optional(),
    /** Memory limit of the container. */
    memoryMb: positiveMb(64).default(512),
    /** Host folder mounted at the container's uploads folder (the seed's UPLOADS_HOST_PATH). */
    uploadsHostPath: nonEmpty().optional(),
    /** Host folder mounted at the container's logs folder (the seed's LOGS_HOST_PATH). */
    logsHostPath: nonEmpty().optional(),
    /** Where the API writes uploads inside the container. */
    uploadsDir: z.string().startsWith("/", "must be an absolute container path").default("/app/uploads"),
    /** Where the API writes logs inside the container. */
    logsDir: z.string().startsWith("/", "must be an absolute container path").default("/app/logs"),
    /** Extra non-secret environment variables. */
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const tlsSchema = z.discriminatedUnion("mode", [
  z
    .object({
      mode: z.literal("mkcert"),
      /** Folder holding local.pem / local-key.pem (the seed's servers/infra/certs). */
      certsDir: z.string().min(1, "must not be empty"),
    })
    .strict(),
  z
    .object({
      mode: z.literal("acme"),
      /** Let's Encrypt account e-mail. */
      email: z.email("must be an e-mail address"),
      /** Folder holding acme.json, shared by every system on the host. */
      storageDir: z.string().min(1, "must not be empty"),
    })
    .strict(),
]);

export const rawSchema = z
  .object({
    environment: z.enum(["development", "production"], { error: (issue) => (issue.input === undefined ? undefined : `must be "development" or "production"`) }),
    system: z.string().regex(NAME, "must be a lower-case name like ems_system").default("ems_system"),
    domain: z.string().trim().min(1, "must not be empty"),
    paths: z
      .object({
        /** Root of uploads/, logs/ and backups/ (seed: .dev-data or /root/<system>/data). */
        data: z.string().min(1, "must not be empty"),
        /** Folder for credentials on the host (mode 700); prod only. */
        secrets: nonEmpty().optional(),
      })
      .strict(),
    tls: tlsSchema,
    docker: z.object({ host: nonEmpty().optional() }).strict().default({}),
    ssh: z
      .object({
        host: z.string().min(1, "must not be empty"),
        user: nonEmpty().default("root"),
        port: port.default(22),
      })
      .strict()
      .optional(),
    registry: z
      .object({
        server: nonEmpty()
          .regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a registry host name like ghcr.io (no scheme, no path)")
          .default("ghcr.io"),
        namespace: nonEmpty()
          .regex(/^[a-z0-9._/-]+$/, "must be a lower-case registry namespace like edumigsoft")
          .default("edumigsoft"),
        username: nonEmpty().default("edumigsoft"),
      })
      .strict()
      .default({ server: "ghcr.io", namespace: "edumigsoft", username: "edumigsoft" }),
    traefik: z
      .object({
        image: pinnedImage.default("traefik:v3.3.5"),
        /** Docker network shared by Traefik and every routed container. */
        network: nonEmpty().default("proxy"),
        /** false on a second system of the same host: its Traefik is already there. */
        manage: z.boolean().default(true),
        dashboard: z.boolean().default(false),
        memoryMb: positiveMb(32).default(256),
        rateLimit: z
          .object({ average: z.number().int().positive("must be greater than 0"), burst: z.number().int().positive("must be greater than 0") })
          .strict()
          .default({ average: 100, burst: 200 }),
      })
      .strict()
      .default({
        image: "traefik:v3.3.5",
        network: "proxy",
        manage: true,
        dashboard: false,
        memoryMb: 256,
        rateLimit: { average: 100, burst: 200 },
      }),
    postgres: z
      .object({
        image: pinnedImage.default("postgres:16.6"),
        user: z.string().regex(DB_NAME, "must be a lower-case SQL identifier").default("ems"),
        memoryMb: positiveMb(128).default(1024),
        /** Name of the data volume; set it to the old compose volume's name to keep its data on migration. */
        volume: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]+$/, "must be a Docker volume name").optional(),
        /** Major version the data volume was initialised with; the image's major must match it. */
        dataVersion: z.number().int().min(9, "must be a PostgreSQL major version (9 or later)").default(16),
        /** Refuses to publish Postgres on the host: it stays on the internal network. */
        hostPort: z.undefined({ error: "Postgres is never published on a host port" }).optional(),
      })
      .strict()
      .default({ image: "postgres:16.6", user: "ems", memoryMb: 1024, dataVersion: 16 }),
    services: z
      .record(z.string().regex(SERVICE_NAME, "is not a valid service name: lower-case letters, digits and dashes, starting with a letter (like ems or ems-api)"), serviceSchema)
      .refine((s) => Object.keys(s).length > 0, "must list at least one service"),
    backup: z
      .object({
        schedule: z.string().regex(CRON, "must be a 5-field cron expression").default("0 3 * * *"),
        keepDaily: z.number().int().min(1, "must be at least 1 (the newest backup is always kept)").default(14),
        keepWeekly: z.number().int().min(0, "must be 0 or more").default(8),
      })
      .strict()
      .default({ schedule: "0 3 * * *", keepDaily: 14, keepWeekly: 8 }),
    migration: z
      .object({
        from: z
          .object({
            letsencrypt: nonEmpty().optional(),
            uploads: z.record(z.string(), nonEmpty()).default({}),
          })
          .strict(),
      })
      .strict()
      .optional(),
  })
  .strict();

const secretString = nonEmpty();
export const secretsSchema = z
  .object({
    ghcrToken: secretString.optional(),
    postgresPassword: secretString.min(12, "must be at least 12 characters").optional(),
    serviceSecrets: z
      .record(z.string(), z.object({ jwtKey: secretString.min(32, "must be at least 32 characters").optional(), apiKey: secretString.min(16, "must be at least 16 characters").optional() }).strict())
      .default({}),
    sshPrivateKey: secretString.optional(),
    dashboardPassword: secretString.min(12, "must be at least 12 characters").optional(),
  })
  .strict();

import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ApiService } from "../components/apiService";
import { Backup } from "../components/backup";
import { Credentials } from "../components/credentials";
import { DockerEngine } from "../components/dockerEngine";
import { HostConnection } from "../components/hostCommand";
import { HostFolder, HostLayout } from "../components/hostLayout";
import { LocalCertificates } from "../components/localCertificates";
import { Migration } from "../components/migration";
import { POSTGRES_PORT, Postgres } from "../components/postgres";
import { Traefik } from "../components/traefik";
import { StackConfig } from "./config";

/** What differs between the dev and prod compositions beyond config values. */
export interface SystemOptions {
  /** Protect and retain the data resources (Postgres volume, ACME storage, uploads) from destroy. */
  protectData: boolean;
  /** The dev certificate Traefik serves and restarts for when it changes. */
  certificates?: LocalCertificates;
}

export interface SystemOutputs {
  urls: Record<string, pulumi.Output<string>>;
  images: Record<string, pulumi.Output<string>>;
  proxyNetwork: pulumi.Input<string>;
  postgresVolume: pulumi.Output<string>;
  postgresContainer: pulumi.Output<string>;
  backupDir: pulumi.Output<string>;
  /** The host command `npm run backup` runs (the same as the schedule's). */
  backupCommand: pulumi.Output<string>;
  /** The host command `npm run restore` runs, followed by the dump file. */
  restoreCommand: pulumi.Output<string>;
  /** `user@host:port` the host commands run on, or "local" for this machine. */
  commandHost: string;
  folders: pulumi.Output<string[]>;
  migrationReport?: pulumi.Output<string>;
}

/** The SSH connection to the host, when the stack is deployed from another machine. */
export function hostConnection(cfg: StackConfig): HostConnection | undefined {
  if (!cfg.ssh) return undefined;
  const key = cfg.secrets.sshPrivateKey;
  return { ...cfg.ssh, privateKey: key === undefined ? undefined : pulumi.secret(key) };
}

/** `user@host:port` of the SSH connection. */
function sshTarget(ssh: NonNullable<StackConfig["ssh"]>): string {
  return `${ssh.user}@${ssh.host}:${ssh.port}`;
}

/** The Docker endpoint: explicit, or the SSH host's engine, or the local socket. */
export function dockerHost(cfg: StackConfig): string | undefined {
  if (cfg.docker.host) return cfg.docker.host;
  return cfg.ssh && `ssh://${sshTarget(cfg.ssh)}`;
}

/** The folders the system needs on the host, from the seed's hierarchy. */
export function hostFolders(cfg: StackConfig): HostFolder[] {
  const folders: HostFolder[] = [];
  if (cfg.traefik.manage && cfg.tls.mode === "acme") folders.push({ path: cfg.tls.storageDir, mode: "700" });
  if (cfg.paths.secrets) folders.push({ path: cfg.paths.secrets, mode: "700" });
  for (const s of cfg.services) folders.push({ path: s.uploadsHostPath });
  for (const s of cfg.services) folders.push({ path: s.logsHostPath });
  folders.push({ path: cfg.paths.backups });
  return folders;
}

/**
 * The data volume: `postgres.volume` when set (an adopted volume), else `<system>_pgdata`; after a major upgrade
 * `_<major>` is appended, so the old volume is kept beside the new one.
 */
export function postgresVolumeName(cfg: StackConfig): string {
  const base = cfg.postgres.volume ?? `${cfg.system}_pgdata`;
  return cfg.postgres.dataVersion === FIRST_POSTGRES_MAJOR ? base : `${base}_${cfg.postgres.dataVersion}`;
}

/** The major version the system started on (its volume keeps the seed's plain name). */
const FIRST_POSTGRES_MAJOR = 16;

/** Composes one system (Traefik, Postgres, its APIs, folders, backups) from validated config. */
export function deploySystem(cfg: StackConfig, options: SystemOptions): SystemOutputs {
  const connection = hostConnection(cfg);
  const engine = new DockerEngine("docker", {
    host: dockerHost(cfg),
    registry: cfg.secrets.ghcrToken === undefined
      ? undefined
      : { server: cfg.registry.server, username: cfg.registry.username, password: pulumi.secret(cfg.secrets.ghcrToken) },
  });
  const onDocker = { providers: [engine.provider] };

  const layout = new HostLayout("host-layout", { folders: hostFolders(cfg), connection, protectData: options.protectData });

  const migration = cfg.migration && new Migration(
    "migration",
    {
      copies: [
        ...(cfg.migration.from.letsencrypt && cfg.tls.mode === "acme" ? [{ from: cfg.migration.from.letsencrypt, to: cfg.tls.storageDir }] : []),
        ...cfg.services.flatMap((s) => {
          const from = cfg.migration?.from.uploads[s.name];
          return from ? [{ from, to: s.uploadsHostPath }] : [];
        }),
      ],
      connection,
    },
    { dependsOn: [layout] },
  );
  const dataReady: pulumi.Resource[] = migration ? [layout, migration] : [layout];

  const credentials = new Credentials("credentials", {
    postgresPassword: secretOrUndefined(cfg.secrets.postgresPassword),
    services: cfg.services.map((s) => ({
      name: s.name,
      jwtKey: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.jwtKey),
      apiKey: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.apiKey),
    })),
  });

  const traefik = cfg.traefik.manage
    ? new Traefik(
        "traefik",
        {
          image: cfg.traefik.image,
          network: cfg.traefik.network,
          tls: cfg.tls,
          rateLimit: cfg.traefik.rateLimit,
          memoryMb: cfg.traefik.memoryMb,
          certificateFingerprint: options.certificates?.fingerprint,
          dashboard: cfg.traefik.dashboard && cfg.secrets.dashboardPassword !== undefined
            ? { host: `traefik.${cfg.domain}`, user: "admin", password: pulumi.secret(cfg.secrets.dashboardPassword) }
            : undefined,
        },
        { ...onDocker, dependsOn: [...dataReady, ...(options.certificates ? [options.certificates] : [])] },
      )
    : undefined;
  const proxyNetwork = traefik ? traefik.networkName : cfg.traefik.network;

  const postgresHost = `${cfg.system}-postgres`;
  const postgres = new Postgres(
    "postgres",
    {
      image: cfg.postgres.image,
      containerName: postgresHost,
      volumeName: postgresVolumeName(cfg),
      networkName: `${cfg.system}_db`,
      user: cfg.postgres.user,
      password: credentials.postgresPassword,
      bootstrapPassword: credentials.postgresBootstrapPassword,
      databases: cfg.services.map((s) => s.database),
      memoryMb: cfg.postgres.memoryMb,
      connection,
      protectData: options.protectData,
    },
    onDocker,
  );

  const services = cfg.services.map((s) => {
    const keys = credentials.services[s.name];
    return new ApiService(
      s.name,
      {
        image: s.image,
        version: s.version,
        routerName: `${cfg.system.replace(/_/g, "-")}-${s.name}`,
        host: s.host,
        port: s.port,
        healthPath: s.healthPath,
        acme: cfg.tls.mode === "acme",
        env: {
          ...s.env,
          ENVIRONMENT: cfg.environment,
          // Plain values, not the component's outputs: a re-run of Postgres must not ripple into every API.
          DB_HOST: postgresHost,
          DB_PORT: String(POSTGRES_PORT),
          DB_NAME: s.database,
          DB_USER: cfg.postgres.user,
          DB_PASSWORD: credentials.postgresPassword,
          JWT_KEY: keys.jwtKey,
          API_KEY: keys.apiKey,
        },
        uploadsHostPath: s.uploadsHostPath,
        uploadsDir: s.uploadsDir,
        logsHostPath: s.logsHostPath,
        logsDir: s.logsDir,
        proxyNetwork,
        dbNetwork: postgres.networkName,
        memoryMb: s.memoryMb,
        dependsOn: [postgres, ...dataReady, ...(traefik ? [traefik] : [])],
      },
      onDocker,
    );
  });

  const scriptsDir = path.posix.join(cfg.paths.data, "bin");
  const backup = new Backup(
    "backup",
    {
      schedule: cfg.backup.schedule,
      backupDir: cfg.paths.backups,
      scriptsDir,
      logFile: path.posix.join(cfg.paths.logs, "backup.log"),
      keepDaily: cfg.backup.keepDaily,
      keepWeekly: cfg.backup.keepWeekly,
      postgresContainer: postgres.containerName,
      postgresUser: cfg.postgres.user,
      jobName: `${cfg.system}-backup`,
      connection,
    },
    { dependsOn: [layout] },
  );

  return {
    urls: Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.url])),
    images: Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.imageRef])),
    proxyNetwork,
    postgresVolume: postgres.volumeName,
    postgresContainer: postgres.containerName,
    backupDir: backup.backupDir,
    backupCommand: backup.runCommand,
    restoreCommand: backup.restoreCommand,
    commandHost: cfg.ssh ? sshTarget(cfg.ssh) : "local",
    folders: layout.folders,
    ...(migration ? { migrationReport: migration.report } : {}),
  };
}

function secretOrUndefined(value: string | undefined): pulumi.Output<string> | undefined {
  return value === undefined ? undefined : pulumi.secret(value);
}

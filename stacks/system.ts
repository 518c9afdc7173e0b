import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ApiContract } from "../components/apiContract";
import { ApiService } from "../components/apiService";
import { engineCapabilities } from "../components/engine";
import { Backup, BackupOffsiteArgs, drillJobName } from "../components/backup";
import { OffsitePath } from "../components/backupOffsite";
import { Credentials, ServiceCredentials } from "../components/credentials";
import { DockerEngine } from "../components/dockerEngine";
import { describeConnection, HostConnection } from "../components/hostCommand";
import { HostFolder, HostLayout } from "../components/hostLayout";
import { LocalCertificates } from "../components/localCertificates";
import { Migration } from "../components/migration";
import { Portainer } from "../components/portainer";
import { POSTGRES_PORT, Postgres } from "../components/postgres";
import { SocketProxy } from "../components/socketProxy";
import { SOCKET_PROXY_PORT } from "../components/socketProxyConfig";
import { Traefik } from "../components/traefik";
import { TraefikDashboard } from "../components/traefikDashboard";
import { ResolvedService, StackConfig } from "./config";
import { HostExpectations } from "./hostExpectations";
import { identityLabels, OpsExports, OpsOutputs } from "./opsContract";

/** What differs between the dev and prod compositions beyond config values. */
export interface SystemOptions {
  /** Protect and retain the data resources (Postgres volume, ACME storage, uploads) from destroy. */
  protectData: boolean;
  /** The dev certificate Traefik serves and restarts for when it changes. */
  certificates?: LocalCertificates;
}

/** The stack outputs; the ones ops read are declared, with their schema, in stacks/opsContract.ts. */
export interface SystemOutputs extends OpsExports {
  /** `ems-infra:system`: the `com.ems.system` label of the stack's containers. */
  system: string;
  /** `ems-infra:environment`: the `com.ems.environment` label. */
  environment: string;
  urls: Record<string, pulumi.Output<string>>;
  images: Record<string, pulumi.Output<string>>;
  /** Container names by service (`traefik`, `postgres`, `portainer` and each API), for status/logs/exec. */
  containers: Record<string, pulumi.Output<string>>;
  /** The Docker endpoint the stack deploys to ("" for this machine's socket). */
  dockerHost: pulumi.Output<string>;
  /** What the host must hold that a refresh never re-reads (folders, the backup cron line, roles): `npm run drift`. */
  hostExpectations: pulumi.Output<HostExpectations>;
  /** Each API's x-api-key (secrets), for the health checks the cut-over and status run through Traefik. */
  apiKeys: Record<string, pulumi.Output<string>>;
  /**
   * Portainer's admin password (a secret): `pulumi stack output portainerAdminPassword --show-secrets`. It is
   * the admin's on a data volume Portainer initialised; a volume adopted with its admin keeps that one.
   */
  portainerAdminPassword?: pulumi.Output<string>;
  proxyNetwork: pulumi.Input<string>;
  postgresVolume: pulumi.Output<string>;
  postgresContainer: pulumi.Output<string>;
  backupDir: pulumi.Output<string>;
  /** The host command `npm run backup` runs (the same as the schedule's). */
  backupCommand: pulumi.Output<string>;
  /** The host command `npm run restore` runs, followed by the dump file. */
  restoreCommand: pulumi.Output<string>;
  /** The off-site copy as `npm run backup --drill`, `restore --from offsite` and `status` use it. */
  offsite: pulumi.Output<OffsiteOutputs>;
  /** The backup job's log file (`npm run status` prints its last line). */
  backupLog: string;
  /** `user@host:port` the host commands run on, or "local" for this machine. */
  commandHost: string;
  folders: pulumi.Output<string[]>;
  migrationReport?: pulumi.Output<string>;
}

/** What the ops commands need of the off-site copy (nothing secret: the credentials stay on the host). */
export type OffsiteOutputs = NonNullable<OpsOutputs["offsite"]>;

/** Where the off-site results are recorded on the host. */
export function offsiteStateDir(cfg: StackConfig): string {
  return path.posix.join(cfg.paths.data, "offsite");
}

/**
 * The off-site copy of the backup job, when `backupOffsite` is set: every uploads folder, the ACME store
 * (its folder: the file keeps its mode 600), Portainer's volume, the host-side config (Traefik's dynamic
 * folder, the secrets folder but the off-site credentials themselves).
 */
export function offsiteArgs(cfg: StackConfig): BackupOffsiteArgs | undefined {
  const target = cfg.secrets.backupOffsite;
  if (!target) return undefined;
  const paths: OffsitePath[] = [
    ...cfg.services.map((s) => ({ kind: "uploads" as const, path: s.uploadsHostPath })),
    ...(cfg.tls.mode === "acme" ? [{ kind: "acme" as const, path: cfg.tls.storageDir }] : []),
    ...(cfg.portainer.enabled && cfg.traefik.manage
      ? [{ kind: "portainer" as const, path: `volume:${cfg.portainer.volume}` }]
      : []),
    ...(cfg.traefik.manage ? [{ kind: "config" as const, path: cfg.traefik.dynamicDir }] : []),
    ...(cfg.paths.secrets ? [{ kind: "config" as const, path: cfg.paths.secrets }] : []),
  ];
  const o = cfg.backup.offsite;
  return {
    target: pulumi.secret(target),
    secretsDir: cfg.paths.secrets ?? path.posix.join(cfg.paths.data, ".secrets"),
    paths,
    stateDir: offsiteStateDir(cfg),
    host: cfg.system,
    keep: { daily: o.keepDaily, weekly: o.keepWeekly, monthly: o.keepMonthly },
    drillSchedule: o.drillSchedule,
    drillImage: cfg.postgres.image,
  };
}

/** The SSH connection to the host, when the stack is deployed from another machine. */
export function hostConnection(cfg: StackConfig): HostConnection | undefined {
  if (!cfg.ssh) return undefined;
  return {
    host: cfg.ssh.host,
    user: cfg.ssh.user,
    port: cfg.ssh.port,
    identityFile: cfg.ssh.identityFile,
    knownHostsFile: cfg.ssh.knownHostsFile,
  };
}

/** `user@host:port` of the SSH connection (an IPv6 host in brackets). */
export function sshTarget(ssh: NonNullable<StackConfig["ssh"]>): string {
  return describeConnection(ssh);
}

/** The folders the system needs on the host, from the seed's hierarchy. */
export function hostFolders(cfg: StackConfig): HostFolder[] {
  const folders: HostFolder[] = [];
  if (cfg.traefik.manage && cfg.tls.mode === "acme") folders.push({ path: cfg.tls.storageDir, mode: "700" });
  if (cfg.traefik.manage) folders.push({ path: cfg.traefik.dynamicDir, mode: "700" });
  if (cfg.paths.secrets) folders.push({ path: cfg.paths.secrets, mode: "700" });
  for (const s of cfg.services) folders.push({ path: s.uploadsHostPath });
  for (const s of cfg.services) folders.push({ path: s.logsHostPath });
  folders.push({ path: cfg.paths.backups });
  return folders;
}

/**
 * The data volume: `postgres.volume` as it is when set (an adopted volume keeps its exact name), else
 * `<system>_pgdata_<major>`: a major upgrade gets a new volume beside the old one.
 */
export function postgresVolumeName(cfg: StackConfig): string {
  return cfg.postgres.volume ?? `${cfg.system}_pgdata_${cfg.postgres.dataVersion}`;
}

/** The backup job's log file. */
export function backupLogFile(cfg: StackConfig): string {
  return path.posix.join(cfg.paths.logs, "backup.log");
}

/** The Postgres container's name: the APIs' DB_HOST. */
export function postgresContainerName(cfg: StackConfig): string {
  return cfg.postgres.containerName ?? `${cfg.system}-postgres`;
}

/** What a container is, as labels (`npm run status` and Portainer find containers by them). */
export function identity(cfg: StackConfig, service: string): Record<string, string> {
  return identityLabels(cfg.system, cfg.environment, service);
}

/** Production's dashboard sits behind basic auth (bcrypt, salt kept in state); the laptop's is on loopback only. */
export function dashboardNeedsAuth(cfg: StackConfig): boolean {
  return cfg.environment === "production";
}

/** Traefik's dashboard router, whatever platform runs Traefik; absent when the dashboard is off. */
export function traefikDashboard(
  cfg: StackConfig,
  certResolver: string | undefined,
  credentials: Credentials,
): TraefikDashboard | undefined {
  if (!cfg.traefik.dashboard.enabled) return undefined;
  const password = cfg.secrets.dashboardPassword;
  return {
    host: cfg.traefik.dashboard.host,
    certResolver,
    auth:
      dashboardNeedsAuth(cfg) && password !== undefined && credentials.dashboardSalt
        ? { user: cfg.traefik.dashboard.user, password: pulumi.secret(password), salt: credentials.dashboardSalt }
        : undefined,
  };
}

/** What the API is, whatever platform runs it: image, route, health, environment, credentials and folders. */
export function apiContract(
  cfg: StackConfig,
  s: ResolvedService,
  keys: ServiceCredentials,
  certResolver: string | undefined,
): ApiContract {
  const extra = cfg.secrets.serviceSecrets[s.name];
  return {
    image: s.image,
    version: s.version,
    imageSource: s.imageSource,
    routerName: `${cfg.system.replace(/_/g, "-")}-${s.name}`,
    host: s.host,
    port: s.port,
    healthPath: s.healthPath,
    health: s.health,
    certResolver,
    identity: identity(cfg, s.name),
    command: s.command,
    env: serviceEnv(cfg, s),
    secrets: {
      ...Object.fromEntries(Object.entries(extra?.env ?? {}).map(([k, v]) => [k, pulumi.secret(v)])),
      ...(extra?.emailApiKey ? { EMAIL_SERVICE_API_KEY: pulumi.secret(extra.emailApiKey) } : {}),
      JWT_KEY: keys.jwtKey,
      API_KEY: keys.apiKey,
      DB_PASS: keys.dbPassword,
    },
    uploadsHostPath: s.uploadsHostPath,
    uploadsDir: s.uploadsDir,
    logsHostPath: s.logsHostPath,
    logsDir: s.logsDir,
    memoryMb: s.memoryMb,
  };
}

/** The plain environment of a service's server (the credentials go in its secrets file). */
function serviceEnv(cfg: StackConfig, s: ResolvedService): Record<string, string> {
  return {
    ...s.env,
    DB_HOST: postgresContainerName(cfg),
    DB_PORT: String(POSTGRES_PORT),
    DB_USER: s.role,
    DB_NAME: s.database,
    VERIFICATION_LINK_BASE_URL: `https://${s.host}${s.verifyPath}`,
    // The image bakes ENV (the build's environment) and the server reads ENV first.
    ENV: cfg.environment,
    ENVIRONMENT: cfg.environment,
    APP_VERSION: s.version,
    UPLOAD_PATH: s.uploadsDir,
    HOME: s.homeDir,
    ...(cfg.email
      ? {
          EMAIL_SERVICE_HOST: cfg.email.host,
          EMAIL_SERVICE_PORT: String(cfg.email.port),
          EMAIL_SERVICE_FROM: cfg.email.from,
          EMAIL_SERVICE_FROM_NAME: cfg.email.fromName,
        }
      : {}),
  };
}

/** Composes one system (Traefik, Postgres, its APIs, Portainer, folders, backups) from validated config. */
export function deploySystem(cfg: StackConfig, options: SystemOptions): SystemOutputs {
  const connection = hostConnection(cfg);
  const engine = new DockerEngine("docker", {
    host: cfg.docker.host,
    ssh: connection,
    registry:
      cfg.secrets.ghcrToken === undefined
        ? undefined
        : {
            server: cfg.registry.server,
            username: cfg.registry.username,
            password: pulumi.secret(cfg.secrets.ghcrToken),
          },
  });
  const onDocker = { providers: [engine.provider] };
  const certResolver = cfg.tls.mode === "acme" ? cfg.tls.resolver : undefined;

  const layout = new HostLayout("host-layout", {
    folders: hostFolders(cfg),
    connection,
    protectData: options.protectData,
  });

  const migration =
    cfg.migration &&
    new Migration(
      "migration",
      {
        copies: [
          ...(cfg.migration.from.letsencrypt && cfg.tls.mode === "acme"
            ? [{ from: cfg.migration.from.letsencrypt, to: cfg.tls.storageDir }]
            : []),
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

  const capabilities = engineCapabilities(cfg.engine);
  const credentials = new Credentials("credentials", {
    postgresPassword: secretOrUndefined(cfg.secrets.postgresPassword),
    services: cfg.services.map((s) => ({
      name: s.name,
      jwtKey: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.jwtKey),
      apiKey: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.apiKey),
      dbPassword: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.dbPassword),
    })),
    dashboardSalt: cfg.traefik.dashboard.enabled && dashboardNeedsAuth(cfg),
    portainer: runsPortainer(cfg),
    portainerPassword: secretOrUndefined(cfg.secrets.portainerPassword),
  });

  // The only reader of the Docker socket on Traefik's side: Traefik gets the proxy's endpoint, not the socket.
  const socketProxy = cfg.traefik.manage
    ? new SocketProxy(
        "socket-proxy",
        {
          image: cfg.socketProxy.image,
          containerName: cfg.socketProxy.containerName,
          networkName: cfg.socketProxy.network,
          identity: identity(cfg, "socket-proxy"),
          engine: capabilities,
        },
        onDocker,
      )
    : undefined;

  const traefik = cfg.traefik.manage
    ? new Traefik(
        "traefik",
        {
          image: cfg.traefik.image,
          containerName: cfg.traefik.containerName,
          network: cfg.traefik.network,
          externalNetwork: cfg.traefik.externalNetwork,
          tls: cfg.tls,
          rateLimit: cfg.traefik.rateLimit,
          memoryMb: cfg.traefik.memoryMb,
          engine: capabilities,
          dynamicDir: cfg.traefik.dynamicDir,
          listen: cfg.traefik.listen,
          dockerEndpoint: `tcp://${cfg.socketProxy.containerName}:${SOCKET_PROXY_PORT}`,
          systems: cfg.traefik.systems,
          extraNetworks: socketProxy ? [socketProxy.networkName] : [],
          // Portainer's own network, shared with Traefik only (the APIs never reach it).
          adminNetwork: runsPortainer(cfg) ? `${cfg.portainer.containerName}_net` : undefined,
          identity: identity(cfg, "traefik"),
          certificateFingerprint: options.certificates?.fingerprint,
          dashboard: traefikDashboard(cfg, certResolver, credentials),
          connection,
        },
        {
          ...onDocker,
          dependsOn: [
            ...dataReady,
            ...(options.certificates ? [options.certificates] : []),
            ...(socketProxy ? [socketProxy] : []),
          ],
        },
      )
    : undefined;
  const proxyNetwork = traefik ? traefik.networkName : cfg.traefik.network;

  const postgres = new Postgres(
    "postgres",
    {
      image: cfg.postgres.image,
      containerName: postgresContainerName(cfg),
      volumeName: postgresVolumeName(cfg),
      networkName: `${cfg.system}_db`,
      user: cfg.postgres.user,
      password: credentials.postgresPassword,
      bootstrapPassword: credentials.postgresBootstrapPassword,
      roles: cfg.services.map((s) => ({
        role: s.role,
        database: s.database,
        password: credentials.services[s.name].dbPassword,
      })),
      memoryMb: cfg.postgres.memoryMb,
      engine: capabilities,
      identity: identity(cfg, "postgres"),
      connection,
      protectData: options.protectData,
    },
    onDocker,
  );

  const portainer =
    traefik?.adminNetworkName && credentials.portainerPassword
      ? new Portainer(
          "portainer",
          {
            image: cfg.portainer.image,
            containerName: cfg.portainer.containerName,
            volumeName: cfg.portainer.volume,
            host: cfg.portainer.host,
            network: traefik.adminNetworkName,
            adminPassword: credentials.portainerPassword,
            public: cfg.portainer.public ? { allowFrom: cfg.portainer.allowFrom } : undefined,
            tunnelPort: cfg.portainer.tunnelPort,
            certResolver,
            identity: identity(cfg, "portainer"),
            memoryMb: cfg.portainer.memoryMb,
            engine: capabilities,
            protectData: options.protectData,
          },
          { ...onDocker, dependsOn: traefik ? [traefik] : [] },
        )
      : undefined;

  const services = cfg.services.map((s) => {
    return new ApiService(
      s.name,
      {
        ...apiContract(cfg, s, credentials.services[s.name], certResolver),
        proxyNetwork,
        dbNetwork: postgres.networkName,
        engine: capabilities,
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
      logFile: backupLogFile(cfg),
      keepDaily: cfg.backup.keepDaily,
      keepWeekly: cfg.backup.keepWeekly,
      postgresContainer: postgres.containerName,
      postgresUser: cfg.postgres.user,
      jobName: `${cfg.system}-backup`,
      connection,
      offsite: offsiteArgs(cfg),
    },
    { dependsOn: [layout] },
  );

  const containers: Record<string, pulumi.Output<string>> = {
    postgres: postgres.containerName,
    ...(traefik ? { traefik: traefik.containerName } : {}),
    ...(portainer ? { portainer: portainer.containerName } : {}),
    ...Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.containerName])),
  };
  return {
    system: cfg.system,
    environment: cfg.environment,
    urls: {
      ...Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.url])),
      ...(portainer ? { portainer: portainer.url } : {}),
      ...(traefik && cfg.traefik.dashboard.enabled
        ? { dashboard: pulumi.output(`https://${cfg.traefik.dashboard.host}`) }
        : {}),
    },
    images: Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.imageRef])),
    containers,
    dockerHost: engine.endpoint,
    hostExpectations: pulumi
      .all([backup.cronLine, backup.drillCronLine, postgres.containerName])
      .apply(([line, drillLine, container]): HostExpectations => ({
        folders: hostFolders(cfg).map((f) => (f.mode ? { path: f.path, mode: f.mode } : { path: f.path })),
        cron: { job: `${cfg.system}-backup`, line },
        ...(drillLine ? { drillCron: { job: drillJobName(`${cfg.system}-backup`), line: drillLine } } : {}),
        postgres: {
          container,
          superuser: cfg.postgres.user,
          roles: cfg.services.map((s) => s.role),
          databases: cfg.services.map((s) => ({ name: s.database, owner: s.role })),
        },
      })),
    apiKeys: Object.fromEntries(cfg.services.map((s) => [s.name, pulumi.secret(credentials.services[s.name].apiKey)])),
    ...(portainer && credentials.portainerPassword
      ? { portainerAdminPassword: pulumi.secret(credentials.portainerPassword) }
      : {}),
    proxyNetwork,
    postgresVolume: postgres.volumeName,
    postgresContainer: postgres.containerName,
    backupDir: backup.backupDir,
    backupCommand: backup.runCommand,
    restoreCommand: backup.restoreCommand,
    offsite: backup.offsiteCommand.apply((command): OffsiteOutputs => ({
      enabled: cfg.secrets.backupOffsite !== undefined,
      command,
      stateDir: offsiteStateDir(cfg),
      maxAgeHours: cfg.backup.offsite.maxAgeHours,
      drillMaxAgeDays: cfg.backup.offsite.drillMaxAgeDays,
    })),
    backupLog: backupLogFile(cfg),
    commandHost: cfg.ssh ? sshTarget(cfg.ssh) : "local",
    folders: layout.folders,
    ...(migration ? { migrationReport: migration.report } : {}),
  };
}

/** Portainer runs with the Traefik this program manages (a second system on the host has neither). */
function runsPortainer(cfg: StackConfig): boolean {
  return cfg.portainer.enabled && cfg.traefik.manage;
}

function secretOrUndefined(value: string | undefined): pulumi.Output<string> | undefined {
  return value === undefined ? undefined : pulumi.secret(value);
}

import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Backup } from "../components/backup";
import { Credentials } from "../components/credentials";
import { DockerEngine, RegistryLogin } from "../components/dockerEngine";
import { HostConnection } from "../components/hostCommand";
import { HostFolder, HostLayout } from "../components/hostLayout";
import { SwarmApiService, SwarmUploads, slotLogFolder } from "../components/swarmApiService";
import { SwarmCluster } from "../components/swarmCluster";
import { contentVersion, nfsDriverOptions } from "../components/swarmDefaults";
import { SwarmPortainer } from "../components/swarmPortainer";
import { SwarmPostgres } from "../components/swarmPostgres";
import { SwarmTraefik } from "../components/swarmTraefik";
import { StackConfig, SwarmNode } from "./config";
import { HostExpectations } from "./hostExpectations";
import { nodeOffsiteArgs, SwarmNodePlan, swarmOpsOutputs } from "./swarmOps";
import {
  SystemOutputs,
  apiContract,
  backupLogFile,
  dashboardNeedsAuth,
  identity,
  postgresContainerName,
  postgresVolumeName,
  sshTarget,
  traefikDashboard,
} from "./system";

type SwarmStackConfig = StackConfig & { swarm: NonNullable<StackConfig["swarm"]> };

/** The SSH connection to a node, with the cluster's key and known_hosts. */
function nodeConnection(cfg: SwarmStackConfig, node: SwarmNode): HostConnection {
  return {
    host: node.address,
    user: node.user,
    port: node.port,
    identityFile: cfg.swarm.identityFile,
    knownHostsFile: cfg.swarm.knownHostsFile,
  };
}

/** The one node a `key=value` pin matches (config validation made sure there is exactly one). */
function pinnedNode(cfg: SwarmStackConfig, pin: string): SwarmNode {
  const [key, value] = [pin.slice(0, pin.indexOf("=")), pin.slice(pin.indexOf("=") + 1)];
  const node = cfg.swarm.nodes.find((n) => n.labels[key] === value);
  if (!node) throw new Error(`no node in swarm.nodes has the label ${pin}`);
  return node;
}

/** The node holding the APIs' uploads folders (every API task runs there); none when they are on shared storage. */
function uploadsNode(cfg: SwarmStackConfig): SwarmNode | undefined {
  return cfg.swarm.sharedStorage ? undefined : pinnedNode(cfg, cfg.swarm.pins.uploads);
}

/** A node's address as a resource name part (`192.0.2.11` → `192-0-2-11`). */
const nodeSlug = (node: SwarmNode) => node.address.replace(/[^A-Za-z0-9]/g, "-");

/**
 * The folders each node needs, the one answer to "what lives where": the ACME store and Traefik's dynamic folder on
 * Traefik's node, the secrets and dumps on Postgres's, the APIs' uploads on the uploads node (none with shared
 * storage: they are on the NFS export) and their logs wherever their tasks may run (that node, or every node): each
 * API's log folder and in it one folder per task slot, 1..replicas (each replica writes its own log file).
 */
export function swarmNodeFolders(cfg: SwarmStackConfig, node: SwarmNode): HostFolder[] {
  const folders: HostFolder[] = [];
  const traefikNode = pinnedNode(cfg, cfg.swarm.pins.traefik);
  const postgresNode = pinnedNode(cfg, cfg.swarm.pins.postgres);
  const apiNode = uploadsNode(cfg);
  if (node === traefikNode && cfg.traefik.manage) {
    if (cfg.tls.mode === "acme") folders.push({ path: cfg.tls.storageDir, mode: "700" });
    folders.push({ path: cfg.traefik.dynamicDir, mode: "700" });
  }
  if (node === postgresNode) {
    if (cfg.paths.secrets) folders.push({ path: cfg.paths.secrets, mode: "700" });
    folders.push({ path: cfg.paths.backups });
  }
  if (apiNode === undefined || node === apiNode) {
    if (apiNode) for (const s of cfg.services) folders.push({ path: s.uploadsHostPath });
    for (const s of cfg.services) {
      folders.push({ path: s.logsHostPath });
      for (let slot = 1; slot <= s.replicas; slot++) folders.push({ path: slotLogFolder(s.logsHostPath, slot) });
    }
  }
  return folders;
}

/** An API's uploads: the uploads node's folder (its tasks pinned there) or its folder on the shared NFS export. */
function swarmUploads(cfg: SwarmStackConfig, service: string): SwarmUploads {
  const shared = cfg.swarm.sharedStorage;
  if (!shared) return { pin: cfg.swarm.pins.uploads };
  const driverOptions = nfsDriverOptions(
    shared.address,
    path.posix.join(shared.path, cfg.system, service),
    shared.options,
  );
  // A node keeps an existing volume's options (a create by that name returns it): new options need a new name.
  return { volume: `${cfg.system}-${service}-uploads-${contentVersion(JSON.stringify(driverOptions))}`, driverOptions };
}

/**
 * The system on a Docker Swarm: the cluster from `swarm.nodes`, Traefik with its Swarm provider, Postgres and
 * Portainer pinned to their nodes, each API a replicated service, over overlay networks. The same config and
 * contract as the one-engine composition (system.ts); only what runs them differs.
 */
export function deploySwarmSystem(config: StackConfig, options: { protectData: boolean }): SystemOutputs {
  if (!config.swarm) throw new Error("platform swarm without swarm.nodes (config validation refuses it)");
  const cfg = config as SwarmStackConfig;
  const nodes = cfg.swarm.nodes.map((n) => ({ node: n, connection: nodeConnection(cfg, n) }));
  const manager = nodes.find((n) => n.node.role === "manager")!;
  const registry: RegistryLogin | undefined =
    cfg.secrets.ghcrToken === undefined
      ? undefined
      : {
          server: cfg.registry.server,
          username: cfg.registry.username,
          password: pulumi.secret(cfg.secrets.ghcrToken),
        };
  // Services, secrets, configs and networks are made through the first manager's engine.
  const engine = new DockerEngine("docker", { ssh: manager.connection, registry });
  const onDocker = { providers: [engine.provider] };
  const connectionOf = (node: SwarmNode) => nodes.find((n) => n.node === node)!.connection;
  // What lives on one node's disk (the data volumes) is made through that node's own engine.
  const engines = new Map<SwarmNode, DockerEngine>([[manager.node, engine]]);
  const engineOf = (node: SwarmNode): DockerEngine => {
    if (!engines.has(node))
      engines.set(node, new DockerEngine(`docker-${nodeSlug(node)}`, { ssh: connectionOf(node) }));
    return engines.get(node)!;
  };

  const cluster = new SwarmCluster("swarm", {
    nodes: nodes.map(({ node, connection }) => ({
      address: node.address,
      role: node.role,
      labels: node.labels,
      connection,
    })),
  });
  const layouts = nodes.map(
    ({ node, connection }) =>
      new HostLayout(`host-layout-${nodeSlug(node)}`, {
        folders: swarmNodeFolders(cfg, node),
        connection,
        protectData: options.protectData,
      }),
  );
  const ready = [...cluster.ready, ...layouts];

  const credentials = new Credentials("credentials", {
    postgresPassword: secretOrUndefined(cfg.secrets.postgresPassword),
    services: cfg.services.map((s) => ({
      name: s.name,
      jwtKey: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.jwtKey),
      apiKey: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.apiKey),
      dbPassword: secretOrUndefined(cfg.secrets.serviceSecrets[s.name]?.dbPassword),
    })),
    dashboardSalt: cfg.traefik.dashboard.enabled && dashboardNeedsAuth(cfg),
    secretNameKey: true,
  });
  const secretNameKey = credentials.secretNameKey!;
  const certResolver = cfg.tls.mode === "acme" ? cfg.tls.resolver : undefined;
  const serviceName = (service: string) => `${cfg.system}-${service}`;

  const traefikNode = pinnedNode(cfg, cfg.swarm.pins.traefik);
  const traefik = cfg.traefik.manage
    ? new SwarmTraefik(
        "traefik",
        {
          image: cfg.traefik.image,
          serviceName: serviceName("traefik"),
          network: cfg.traefik.network,
          externalNetwork: cfg.traefik.externalNetwork,
          tls: cfg.tls,
          rateLimit: cfg.traefik.rateLimit,
          memoryMb: cfg.traefik.memoryMb,
          dynamicDir: cfg.traefik.dynamicDir,
          pin: cfg.swarm.pins.traefik,
          identity: identity(cfg, "traefik"),
          dashboard: traefikDashboard(cfg, certResolver, credentials),
          connection: connectionOf(traefikNode),
        },
        { ...onDocker, dependsOn: ready },
      )
    : undefined;
  if (!traefik) throw new Error("platform swarm needs traefik.manage: true (the cluster's Traefik routes the APIs)");

  const postgres = new SwarmPostgres(
    "postgres",
    {
      image: cfg.postgres.image,
      serviceName: postgresContainerName(cfg),
      volumeName: postgresVolumeName(cfg),
      volumeProvider: engineOf(pinnedNode(cfg, cfg.swarm.pins.postgres)).provider,
      protectData: options.protectData,
      networkName: `${cfg.system}_db`,
      pin: cfg.swarm.pins.postgres,
      user: cfg.postgres.user,
      password: credentials.postgresPassword,
      bootstrapPassword: credentials.postgresBootstrapPassword,
      secretNameKey,
      roles: cfg.services.map((s) => ({
        role: s.role,
        database: s.database,
        password: credentials.services[s.name].dbPassword,
      })),
      memoryMb: cfg.postgres.memoryMb,
      identity: identity(cfg, "postgres"),
      connection: connectionOf(pinnedNode(cfg, cfg.swarm.pins.postgres)),
    },
    { ...onDocker, dependsOn: ready },
  );

  const proxyNetwork = { name: traefik.networkName, id: traefik.networkId };
  const portainer = cfg.portainer.enabled
    ? new SwarmPortainer(
        "portainer",
        {
          image: cfg.portainer.image,
          agentImage: cfg.portainer.agentImage,
          serviceName: serviceName("portainer"),
          volumeName: cfg.portainer.volume,
          volumeProvider: engineOf(pinnedNode(cfg, cfg.swarm.pins.portainer)).provider,
          protectData: options.protectData,
          pin: cfg.swarm.pins.portainer,
          host: cfg.portainer.host,
          proxyNetwork,
          certResolver,
          identity: identity(cfg, "portainer"),
          memoryMb: cfg.portainer.memoryMb,
        },
        { ...onDocker, dependsOn: [...ready, traefik] },
      )
    : undefined;

  const services = cfg.services.map((s) => {
    return new SwarmApiService(
      s.name,
      {
        ...apiContract(cfg, s, credentials.services[s.name], certResolver),
        serviceName: serviceName(s.name),
        replicas: s.replicas,
        uploads: swarmUploads(cfg, s.name),
        proxyNetwork,
        dbNetworkId: postgres.networkId,
        secretNameKey,
        registry,
        dependsOn: [postgres, traefik, ...ready],
      },
      onDocker,
    );
  });

  // The nightly dumps on the node holding Postgres's volume, into its task found by the service's label; the
  // off-site copy from every node that holds something worth keeping, each its own job (stacks/swarmOps.ts).
  const postgresNode = pinnedNode(cfg, cfg.swarm.pins.postgres);
  const portainerNode = cfg.portainer.enabled ? pinnedNode(cfg, cfg.swarm.pins.portainer) : undefined;
  const plans: SwarmNodePlan[] = nodes.map(({ node, connection }, i) => ({
    node,
    connection,
    folders: swarmNodeFolders(cfg, node),
    holdsPostgres: node === postgresNode,
    holdsPortainer: node === portainerNode,
    layout: layouts[i],
  }));
  const backup = new Backup(
    "backup",
    {
      schedule: cfg.backup.schedule,
      backupDir: cfg.paths.backups,
      scriptsDir: path.posix.join(cfg.paths.data, "bin"),
      logFile: backupLogFile(cfg),
      keepDaily: cfg.backup.keepDaily,
      keepWeekly: cfg.backup.keepWeekly,
      postgresContainer: postgres.serviceName,
      postgresRunsAs: "swarm-service",
      postgresUser: cfg.postgres.user,
      jobName: `${cfg.system}-backup`,
      connection: connectionOf(postgresNode),
      offsite: nodeOffsiteArgs(
        cfg,
        plans.find((p) => p.holdsPostgres)!,
      ),
    },
    { dependsOn: [layouts[nodes.findIndex((n) => n.node === postgresNode)]] },
  );
  const ops = swarmOpsOutputs(cfg, plans, backup, postgres.serviceName);
  return {
    platform: "swarm",
    system: cfg.system,
    environment: cfg.environment,
    backupLog: backupLogFile(cfg),
    urls: {
      ...Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.url])),
      ...(portainer ? { portainer: portainer.url } : {}),
      ...(cfg.traefik.dashboard.enabled ? { dashboard: pulumi.output(`https://${cfg.traefik.dashboard.host}`) } : {}),
    },
    images: Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.imageRef])),
    containers: {
      postgres: postgres.serviceName,
      traefik: traefik.serviceName,
      ...(portainer ? { portainer: portainer.serviceName } : {}),
      ...Object.fromEntries(services.map((svc, i) => [cfg.services[i].name, svc.serviceName])),
    },
    dockerHost: engine.endpoint,
    hostExpectations: pulumi.output<HostExpectations>({
      folders: swarmNodeFolders(cfg, manager.node).map((f) =>
        f.mode ? { path: f.path, mode: f.mode } : { path: f.path },
      ),
      cron: { job: `${cfg.system}-backup`, line: "" },
      postgres: {
        container: postgresContainerName(cfg),
        superuser: cfg.postgres.user,
        roles: cfg.services.map((s) => s.role),
        databases: cfg.services.map((s) => ({ name: s.database, owner: s.role })),
      },
    }),
    apiKeys: Object.fromEntries(cfg.services.map((s) => [s.name, pulumi.secret(credentials.services[s.name].apiKey)])),
    proxyNetwork: traefik.networkName,
    postgresVolume: postgres.volumeName,
    postgresContainer: postgres.serviceName,
    backupDir: backup.backupDir,
    offsite: ops.offsite,
    swarm: ops.swarm,
    backupCommand: backup.runCommand,
    restoreCommand: backup.restoreCommand,
    commandHost: sshTarget({ ...nodeConnection(cfg, postgresNode), host: postgresNode.address }),
    folders: pulumi.all(layouts.map((l) => l.folders)).apply((lists) => [...new Set(lists.flat())].sort()),
  };
}

function secretOrUndefined(value: string | undefined): pulumi.Output<string> | undefined {
  return value === undefined ? undefined : pulumi.secret(value);
}

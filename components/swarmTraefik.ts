import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { toLabels } from "./containerDefaults";
import { HostConnection } from "./hostCommand";
import {
  SWARM_LOG_DRIVER,
  nodeLabelConstraint,
  stopFirstUpdate,
  taskResources,
  versionedConfig,
} from "./swarmDefaults";
import { writeDynamicFiles } from "./traefik";
import { TRAEFIK_PATHS, TraefikTls, traefikStaticConfig } from "./traefikConfig";
import { TraefikDashboard } from "./traefikDashboard";

export interface SwarmTraefikArgs {
  /** Pinned Traefik image (v3.6.1 or later). */
  image: string;
  /** The Swarm service's name. */
  serviceName: string;
  /** Name of the overlay network shared with every routed service. */
  network: string;
  /** true: the overlay network exists already (made by hand or by another system) and is only joined. */
  externalNetwork: boolean;
  /** Certificates: mkcert files (dev) or Let's Encrypt ACME (prod). */
  tls: TraefikTls;
  /** Requests per second per client on the API routers, and the burst above it. */
  rateLimit: { average: number; burst: number };
  /** Memory limit of the task. */
  memoryMb: number;
  /** Host folder of the dynamic configuration on the pinned node, bind-mounted read-only. */
  dynamicDir: string;
  /** Node label (`key=value`) of the one manager holding the ACME store and the dynamic folder. */
  pin: string;
  /** Labels that say what the service is. */
  identity: Record<string, string>;
  /** The dashboard's router; absent keeps the dashboard off. */
  dashboard?: TraefikDashboard;
  /** SSH connection to the pinned node (the dynamic files are written there). */
  connection?: HostConnection;
}

/**
 * Traefik on a swarm: one task on the manager that holds the ACME store (Traefik CE keeps it in one file), reading
 * routes from the services' labels through the Swarm provider (it needs a manager's API), ports 80/443 published
 * in host mode on that node (the client's address reaches Traefik; no routing-mesh hop).
 */
export class SwarmTraefik extends pulumi.ComponentResource {
  /** Name of the overlay network the API services join. */
  public readonly networkName: pulumi.Output<string>;
  /** Its id (a service attaches to a network by id). */
  public readonly networkId: pulumi.Output<string>;
  /** The Swarm service's name. */
  public readonly serviceName: pulumi.Output<string>;
  /** The traefik.yml the service runs with. */
  public readonly staticConfig: pulumi.Output<string>;

  constructor(name: string, args: SwarmTraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:SwarmTraefik", name, {}, opts);
    const configArgs = {
      tls: args.tls,
      network: args.network,
      dashboard: !!args.dashboard,
      rateLimit: args.rateLimit,
      provider: "swarm" as const,
    };
    const staticYaml = YAML.stringify(traefikStaticConfig(configArgs));
    const { writer } = writeDynamicFiles(name, configArgs, args, this);

    const network = args.externalNetwork
      ? undefined
      : new docker.Network(
          `${name}-network`,
          { name: args.network, driver: "overlay", attachable: true },
          { parent: this },
        );
    const networkId = network
      ? network.id
      : docker.getNetworkOutput({ name: args.network }, { parent: this }).apply((n) => n.id);
    const staticConfig = versionedConfig(
      `${name}-static`,
      `${args.serviceName}-static`,
      Buffer.from(staticYaml),
      args.identity,
      this,
    );
    const tlsMount: docker.types.input.ServiceTaskSpecContainerSpecMount =
      args.tls.mode === "mkcert"
        ? { type: "bind", source: args.tls.certsDir, target: TRAEFIK_PATHS.certsDir, readOnly: true }
        : { type: "bind", source: args.tls.storageDir, target: TRAEFIK_PATHS.acmeDir };

    const service = new docker.Service(
      name,
      {
        name: args.serviceName,
        mode: { replicated: { replicas: 1 } },
        labels: toLabels(args.identity),
        taskSpec: {
          containerSpec: {
            image: args.image,
            labels: toLabels(args.identity),
            configs: [
              {
                configId: staticConfig.id,
                configName: staticConfig.name,
                fileName: TRAEFIK_PATHS.staticConfig,
                fileMode: 0o444,
              },
            ],
            mounts: [
              { type: "bind", source: TRAEFIK_PATHS.dockerSocket, target: TRAEFIK_PATHS.dockerSocket, readOnly: true },
              { type: "bind", source: args.dynamicDir, target: TRAEFIK_PATHS.dynamicDir, readOnly: true },
              tlsMount,
            ],
            healthcheck: {
              tests: ["CMD", "traefik", "healthcheck", "--ping"],
              interval: "10s",
              timeout: "5s",
              retries: 3,
              startPeriod: "5s",
            },
            // Its entrypoints finish in-flight requests for up to 10 s (Traefik's default graceTimeOut).
            stopGracePeriod: "15s",
          },
          resources: taskResources(args.memoryMb),
          logDriver: SWARM_LOG_DRIVER,
          networksAdvanceds: [{ id: networkId }],
          placement: { constraints: ["node.role==manager", nodeLabelConstraint(args.pin)] },
          restartPolicy: { condition: "any", delay: "5s" },
        },
        endpointSpec: {
          ports: [80, 443].map((port) => ({ targetPort: port, publishedPort: port, publishMode: "host" })),
        },
        // Host ports are held by one task: the old one stops first (a few seconds without proxy, as today).
        ...stopFirstUpdate(30),
        convergeConfig: { delay: "5s", timeout: "3m" },
      },
      { parent: this, dependsOn: [writer] },
    );

    this.networkName = pulumi.output(network ? network.name : args.network);
    this.networkId = networkId;
    this.serviceName = service.name;
    this.staticConfig = pulumi.output(staticYaml);
    this.registerOutputs({ networkName: this.networkName, serviceName: this.serviceName });
  }
}

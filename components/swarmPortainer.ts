import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dataVolume, toLabels } from "./containerDefaults";
import { PORTAINER_PORT, PORTAINER_STATUS_PATH } from "./portainer";
import { EMS_RUN_BINARY, EMS_RUN_PATH } from "./probe";
import {
  SWARM_LOG_DRIVER,
  nodeLabelConstraint,
  stopFirstUpdate,
  taskResources,
  versionedConfig,
} from "./swarmDefaults";
import { ENTRYPOINT_WEBSECURE, TRAEFIK_PATHS } from "./traefikConfig";
import * as fs from "fs";

export interface SwarmPortainerArgs {
  /** Pinned server image, e.g. portainer/portainer-ce:2.27.3. */
  image: string;
  /** Pinned agent image of the same release, e.g. portainer/agent:2.27.3. */
  agentImage: string;
  /** The server's Swarm service name (the agent's is `<serviceName>-agent`). */
  serviceName: string;
  /** Data volume on the pinned node (an existing one is adopted as it is). */
  volumeName: string;
  /** The pinned node's engine: the volume is created there, a resource of the stack (protected with protectData). */
  volumeProvider: docker.Provider;
  /** Production: the data volume can be neither destroyed nor replaced, and is kept if removed from the stack. */
  protectData: boolean;
  /** Node label (`key=value`) of the node holding the data volume. */
  pin: string;
  /** Public host name. */
  host: string;
  /** Traefik's overlay network: its name (labels) and id. */
  proxyNetwork: { name: pulumi.Input<string>; id: pulumi.Input<string> };
  /** Certificate resolver of the router, absent for files (mkcert). */
  certResolver?: string;
  /** Labels that say what the service is. */
  identity: Record<string, string>;
  /** Memory limit of the server's task. */
  memoryMb: number;
}

/** The agent's port, reached by the server over their own overlay network. */
const PORTAINER_AGENT_PORT = 9001;

/**
 * Portainer on a swarm: the server pinned to the node holding its volume, routed by Traefik, talking to an agent
 * that runs on every node (a global service) so it sees the whole cluster, not one engine.
 */
export class SwarmPortainer extends pulumi.ComponentResource {
  /** The public URL. */
  public readonly url: pulumi.Output<string>;
  /** The server's Swarm service name. */
  public readonly serviceName: pulumi.Output<string>;
  /** The agent's (global) Swarm service name. */
  public readonly agentServiceName: pulumi.Output<string>;

  constructor(name: string, args: SwarmPortainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:SwarmPortainer", name, {}, opts);
    const agentName = `${args.serviceName}-agent`;
    const agentNetwork = new docker.Network(
      `${name}-agent-network`,
      { name: `${args.serviceName}_agent`, driver: "overlay", options: { encrypted: "true" } },
      { parent: this },
    );
    const agent = new docker.Service(
      `${name}-agent`,
      {
        name: agentName,
        mode: { global: true },
        labels: toLabels(args.identity),
        taskSpec: {
          containerSpec: {
            image: args.agentImage,
            labels: toLabels(args.identity),
            mounts: [
              { type: "bind", source: TRAEFIK_PATHS.dockerSocket, target: TRAEFIK_PATHS.dockerSocket },
              { type: "bind", source: "/var/lib/docker/volumes", target: "/var/lib/docker/volumes" },
            ],
          },
          resources: taskResources(128),
          logDriver: SWARM_LOG_DRIVER,
          networksAdvanceds: [{ id: agentNetwork.id }],
          placement: { constraints: ["node.platform.os==linux"] },
          restartPolicy: { condition: "any", delay: "5s" },
        },
        ...stopFirstUpdate(10),
      },
      { parent: this },
    );
    const emsRun = versionedConfig(
      `${name}-ems-run`,
      `${args.serviceName}-ems-run`,
      fs.readFileSync(EMS_RUN_BINARY),
      args.identity,
      this,
    );
    const volume = dataVolume(`${name}-data`, args.volumeName, args.protectData, this, args.volumeProvider);
    const router = `traefik.http.routers.${name}`;
    const server = new docker.Service(
      name,
      {
        name: args.serviceName,
        mode: { replicated: { replicas: 1 } },
        labels: pulumi.output(args.proxyNetwork.name).apply((network) =>
          toLabels({
            "traefik.enable": "true",
            "traefik.swarm.network": network,
            "traefik.swarm.lbswarm": "false",
            [`${router}.rule`]: `Host(\`${args.host}\`)`,
            [`${router}.entrypoints`]: ENTRYPOINT_WEBSECURE,
            [`${router}.tls`]: "true",
            ...(args.certResolver ? { [`${router}.tls.certresolver`]: args.certResolver } : {}),
            [`${router}.service`]: name,
            [`traefik.http.services.${name}.loadbalancer.server.port`]: String(PORTAINER_PORT),
            ...args.identity,
          }),
        ),
        taskSpec: {
          containerSpec: {
            image: args.image,
            args: ["-H", `tcp://tasks.${agentName}:${PORTAINER_AGENT_PORT}`, "--tlsskipverify"],
            labels: toLabels(args.identity),
            configs: [{ configId: emsRun.id, configName: emsRun.name, fileName: EMS_RUN_PATH, fileMode: 0o555 }],
            mounts: [{ type: "volume", source: volume.name, target: "/data" }],
            healthcheck: {
              tests: ["CMD", EMS_RUN_PATH, "--probe", String(PORTAINER_PORT), PORTAINER_STATUS_PATH, "--no-key"],
              interval: "30s",
              timeout: "5s",
              retries: 3,
              startPeriod: "1m0s",
            },
            stopGracePeriod: "10s",
          },
          resources: taskResources(args.memoryMb),
          logDriver: SWARM_LOG_DRIVER,
          networksAdvanceds: [{ id: args.proxyNetwork.id }, { id: agentNetwork.id }],
          placement: { constraints: [nodeLabelConstraint(args.pin)] },
          restartPolicy: { condition: "any", delay: "5s" },
        },
        // One Portainer per data volume (it locks its database): the old task stops first.
        ...stopFirstUpdate(30),
      },
      { parent: this, dependsOn: [agent, volume] },
    );

    this.url = pulumi.output(`https://${args.host}`);
    this.serviceName = server.name;
    this.agentServiceName = agent.name;
    this.registerOutputs({ url: this.url, serviceName: this.serviceName, agentServiceName: this.agentServiceName });
  }
}

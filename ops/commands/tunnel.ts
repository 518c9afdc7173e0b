/**
 * `npm run tunnel -- --stack prod --service portainer`: an SSH tunnel to Portainer, which in production has no
 * router and answers on the VPS's 127.0.0.1 only (README, "Security"). The stack's `ems-infra:ssh` (its key, its
 * known_hosts verified) and `ems-infra:portainer.tunnelPort`; nothing else.
 */
import { rawSchema } from "../../stacks/configSchema";
import { tunnelArgs } from "../hostCommands/tunnel";
import { UsageError } from "../runner/args";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { configObject, hostTargetOf } from "../runner/stackConfig";
import { openTunnel } from "../tunnel";

/** The services a tunnel reaches. */
const TUNNELLED = ["portainer"];

export const tunnel = defineCommand({
  name: "tunnel",
  summary: "Opens an SSH tunnel to a service that answers on the host's loopback only (Portainer in production).",
  stack: { mode: "select", description: "Stack, e.g. prod" },
  confirms: false,
  flags: {
    service: { type: "string", required: true, valueName: "name", description: "The service: portainer" },
    port: { type: "integer", valueName: "n", description: "Port on this machine (default: the host's)" },
  },
  validate({ stack, service, port }) {
    if (!TUNNELLED.includes(service))
      throw new UsageError(`--service ${service}: only ${TUNNELLED.join(", ")} is reached by a tunnel`);
    return { stack, service, port };
  },
  examples: [
    "npm run tunnel -- --stack prod --service portainer",
    "npm run tunnel -- -s prod --service portainer --port 19000",
  ],
  async run(options, { stack, io }) {
    const remotePort = rawSchema.shape.portainer.parse((await configObject(stack, "portainer")) ?? {}).tunnelPort;
    const password = `pulumi stack output portainerAdminPassword --show-secrets --stack ${stack.name}`;
    const target = await hostTargetOf(stack);
    if (target === "local") {
      io.out(`the stack runs on this machine: Portainer answers on http://localhost:${remotePort}, no tunnel needed\n`);
      return EXIT.ok;
    }
    const localPort = options.port ?? remotePort;
    io.out(`Portainer: http://localhost:${localPort} (user admin, password: ${password}); Ctrl-C closes the tunnel\n`);
    return openTunnel(tunnelArgs(target, localPort, remotePort));
  },
});

runMain(module, tunnel);

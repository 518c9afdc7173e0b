/**
 * `npm run logs -- --stack prod --service ems [--follow] [--lines N] [--since 10m]`: the logs of the container a
 * service runs now, whatever its generated name (`traefik`, `postgres`, `portainer` work too), streamed.
 */
import { findContainers, pickContainer } from "../containers";
import { logsCommand } from "../hostCommands/logs";
import { swarmLogsCommand } from "../hostCommands/swarm";
import { UsageError } from "../runner/args";
import { defineCommand, runMain } from "../runner/defineCommand";
import { hostTargetOf } from "../runner/stackConfig";
import { readOpsOutputs } from "../stackOutputs";
import { managerOf, serviceName } from "../swarm";

const SINCE = /^([0-9]+[smhd]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?)$/;

export const logs = defineCommand({
  name: "logs",
  summary:
    "Prints the logs of the container a service runs now (found by its labels: API containers have generated names).",
  stack: { mode: "select", description: "Stack, e.g. prod" },
  confirms: false,
  flags: {
    service: {
      type: "string",
      required: true,
      valueName: "name",
      description: "Service: an API (ems, sms), traefik, postgres or portainer",
    },
    follow: { type: "boolean", short: "f", description: "Keep printing new lines (Ctrl-C stops)" },
    lines: { type: "integer", short: "n", valueName: "n", description: "How many of the last lines (default 100)" },
    since: {
      type: "string",
      valueName: "duration",
      description: "Only lines newer than this: 10m, 2h, 1d, or a time like 2025-03-14T18:00",
    },
  },
  validate({ stack, service, follow, lines, since }) {
    if (since !== undefined && !SINCE.test(since))
      throw new UsageError(`--since "${since}" is not a duration (10m, 2h, 1d) nor a date (2025-03-14T18:00)`);
    if (lines === 0) throw new UsageError("--lines must be at least 1");
    return { stack, service, follow, lines: lines ?? 100, since };
  },
  examples: [
    "npm run logs -- --stack prod --service ems --follow",
    "npm run logs -- -s prod --service postgres --since 1h",
  ],
  async run(options, { stack, host, io }) {
    const outputs = await readOpsOutputs(stack);
    if (outputs.platform === "swarm") {
      const name = serviceName(outputs.containers, options.service, stack.name);
      io.out(`logs of service ${name} (every task):\n`);
      return host.run(await managerOf(stack), swarmLogsCommand(name, options));
    }
    const target = await hostTargetOf(stack);
    const containers = await findContainers(host, target, outputs, outputs.containers);
    const container = pickContainer(containers, options.service, stack.name);
    io.out(`logs of ${container.name} (${container.service}, ${container.state}):\n`);
    return host.run(target, logsCommand(container.id, options));
  },
});

runMain(module, logs);

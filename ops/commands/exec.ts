/**
 * `npm run exec -- --stack prod --service postgres [--as ems] [-- <command>]`: runs a command in a service's
 * container (`docker exec -it`). For Postgres the default is `psql`, as the superuser or, with `--as <service>`,
 * as that service's role in its database. The API images are `FROM scratch`: there is nothing to run in them.
 */
import { findContainers, pickContainer } from "../containers";
import { execCommand } from "../hostCommands/containers";
import { swarmExecCommand } from "../hostCommands/swarm";
import { noShellMessage, postgresCommand } from "../postgresAccess";
import { UsageError } from "../runner/args";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { configObject, hostTargetOf } from "../runner/stackConfig";
import { readOpsOutputs } from "../stackOutputs";
import { serviceName, taskNode } from "../swarm";

export const exec = defineCommand({
  name: "exec",
  summary: "Runs a command in a service's container, with the terminal attached (postgres: psql by default).",
  stack: { mode: "select", description: "Stack, e.g. prod" },
  confirms: false,
  flags: {
    service: {
      type: "string",
      required: true,
      valueName: "name",
      description: "Service whose container runs the command: postgres, traefik",
    },
    as: {
      type: "string",
      valueName: "service",
      description: "postgres only: connect as this API service's role, to its database",
    },
  },
  rest: { description: "Everything after a lone -- is the command, e.g. -- pg_dump --schema-only ems_production." },
  validate({ stack, service, as, rest }) {
    if (as !== undefined && service !== "postgres")
      throw new UsageError("--as goes with --service postgres (it picks the database role psql connects as)");
    return { stack, service, as, command: rest };
  },
  examples: [
    "npm run exec -- --stack prod --service postgres",
    "npm run exec -- --stack prod --service postgres --as ems",
    "npm run exec -- -s dev --service postgres -- psql -c 'select 1'",
  ],
  async run(options, { stack, host, io }) {
    const services = (await configObject(stack, "services")) ?? {};
    if (Object.prototype.hasOwnProperty.call(services, options.service)) {
      io.err(`error: ${noShellMessage(options.service, stack.name)}\n`);
      return EXIT.failed;
    }
    const outputs = await readOpsOutputs(stack);
    if (outputs.platform === "swarm") {
      const name = serviceName(outputs.containers, options.service, stack.name);
      const command =
        options.service === "postgres" ? await postgresCommand(stack, options.command, options.as) : options.command;
      if (command.length === 0) throw new Error(`give the command to run in ${name} after --, e.g. -- sh`);
      const node = await taskNode(host, stack, name);
      io.out(`running in a task of ${name}: ${command.join(" ")}\n`);
      return host.run(node, swarmExecCommand(name, command, io.isTTY), { tty: io.isTTY });
    }
    const target = await hostTargetOf(stack);
    const container = pickContainer(
      await findContainers(host, target, outputs, outputs.containers),
      options.service,
      stack.name,
    );
    const command =
      options.service === "postgres" ? await postgresCommand(stack, options.command, options.as) : options.command;
    if (command.length === 0) throw new Error(`give the command to run in ${container.name} after --, e.g. -- sh`);
    io.out(`running in ${container.name}: ${command.join(" ")}\n`);
    return host.run(target, execCommand(container.id, command, io.isTTY), { tty: io.isTTY });
  },
});

runMain(module, exec);

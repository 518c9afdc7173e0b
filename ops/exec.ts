/**
 * `npm run exec -- --stack prod --service postgres [--as ems] [-- <command>]`: runs a command in a service's
 * container (`docker exec -it`). For Postgres the default is `psql`, as the superuser or, with `--as <service>`,
 * as that service's role in its database. The API images are `FROM scratch`: there is nothing to run in them.
 */
import { CommandSpec, parseArgs, UsageError, stackFlag } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { findContainers } from "./containers";
import { shellQuote } from "./hostShell";
import { pickContainer } from "./logs";
import { SERVICES_KEY } from "./rollbackPlan";
import { openForHost } from "./stackCommand";
import { swarmExecCommand, taskNode } from "./swarm";
import { defaultDatabase, defaultRole } from "../stacks/config";
import { configObject, environmentOf } from "./stackConfig";
import { defaultDeps, OpsDeps, StackLike } from "./workspace";

export const execSpec = {
  command: "npm run exec --",
  summary: "Runs a command in a service's container, with the terminal attached (postgres: psql by default).",
  flags: {
    stack: stackFlag("Stack, e.g. prod"),
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
  notes: ["Everything after a lone -- is the command, e.g. -- pg_dump --schema-only ems_production."],
  examples: [
    "npm run exec -- --stack prod --service postgres",
    "npm run exec -- --stack prod --service postgres --as ems",
    "npm run exec -- -s dev --service postgres -- psql -c 'select 1'",
  ],
} as const satisfies CommandSpec;

export interface ExecOptions {
  stack: string;
  service: string;
  as?: string;
  command: string[];
}

export function parseExecArgs(argv: readonly string[]): { help: true } | { help: false; options: ExecOptions } {
  const dash = argv.indexOf("--");
  const flags = dash === -1 ? argv : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  const parsed = parseArgs(execSpec, flags);
  if (parsed.help) return parsed;
  const { stack, service, as } = parsed.values;
  if (as !== undefined && service !== "postgres")
    throw new UsageError("--as goes with --service postgres (it picks the database role psql connects as)");
  if (dash !== -1 && command.length === 0)
    throw new UsageError("nothing after --: give the command to run, or leave out the --");
  return { help: false, options: { stack, service, as, command } };
}

/** Postgres connection of a service: its role and database, with the program's defaults. */
export async function serviceDatabase(stack: StackLike, service: string): Promise<{ role: string; database: string }> {
  const services = (await configObject(stack, "services")) ?? {};
  const entry = services[service];
  if (typeof entry !== "object" || entry === null) {
    throw new Error(
      `--as ${service}: no such service in ${SERVICES_KEY} of stack ${stack.name} (known: ${Object.keys(services).sort().join(", ") || "none"})`,
    );
  }
  const s = entry as { role?: unknown; database?: unknown };
  return {
    role: typeof s.role === "string" ? s.role : defaultRole(service),
    database: typeof s.database === "string" ? s.database : defaultDatabase(service, await environmentOf(stack)),
  };
}

/** What the API images cannot do, said plainly. */
export function noShellMessage(service: string, stack: string): string {
  return (
    `the ${service} image is FROM scratch: no shell and no tools to exec; use \`npm run logs -- --stack ${stack} --service ${service}\` ` +
    `for its output, \`npm run status -- --stack ${stack}\` for its health, or \`npm run exec -- --stack ${stack} --service postgres --as ${service}\` for its data`
  );
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(execSpec, io, () => parseExecArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;
  try {
    const { stack, target, environment, named, platform } = await openForHost(opts.stack, io, deps);
    const services = (await configObject(stack, "services")) ?? {};
    if (Object.prototype.hasOwnProperty.call(services, opts.service)) {
      io.err(`error: ${noShellMessage(opts.service, opts.stack)}\n`);
      return 1;
    }
    let command = opts.command;
    const psql = command.length === 0 || (command[0] === "psql" && !command.includes("-U"));
    if (opts.service === "postgres" && psql) {
      // The program's default superuser (stacks/configSchema.ts) when postgres.user is not set.
      const superuser = (await configObject(stack, "postgres"))?.user;
      const { role, database } = opts.as
        ? await serviceDatabase(stack, opts.as)
        : { role: typeof superuser === "string" ? superuser : "postgres", database: "postgres" };
      command = ["psql", "-U", role, "-d", database, ...command.slice(command[0] === "psql" ? 1 : 0)];
    }
    const tty = io.isTTY;
    if (platform === "swarm") {
      const name = named[opts.service];
      if (!name) throw new Error(`stack ${opts.stack} has no service "${opts.service}"`);
      if (command.length === 0) throw new Error(`give the command to run in ${name} after --, e.g. -- sh`);
      const node = await taskNode(deps.host, stack, name);
      io.out(`running in a task of ${name}: ${command.join(" ")}\n`);
      return await deps.host.run(node, swarmExecCommand(name, command, tty), { tty });
    }
    const container = pickContainer(
      await findContainers(deps.host, target, environment, named),
      opts.service,
      opts.stack,
    );
    if (command.length === 0) throw new Error(`give the command to run in ${container.name} after --, e.g. -- sh`);
    const line = `docker exec ${tty ? "-it" : "-i"} ${shellQuote(container.id)} ${command.map(shellQuote).join(" ")}`;
    io.out(`running in ${container.name}: ${command.join(" ")}\n`);
    return await deps.host.run(target, line, { tty });
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

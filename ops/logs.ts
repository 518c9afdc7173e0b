/**
 * `npm run logs -- --stack prod --service ems [--follow] [--lines N] [--since 10m]`: the logs of the container a
 * service runs now, whatever its generated name (`traefik`, `postgres`, `portainer` work too), streamed.
 */
import { CommandSpec, parseArgs, UsageError, stackFlag } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { ContainerInfo, currentContainer, findContainers } from "./containers";
import { shellQuote } from "./hostShell";
import { openForHost } from "./stackCommand";
import { managerOf, swarmLogsCommand } from "./swarm";
import { defaultDeps, OpsDeps } from "./workspace";

export const logsSpec = {
  command: "npm run logs --",
  summary:
    "Prints the logs of the container a service runs now (found by its labels: API containers have generated names).",
  flags: {
    stack: stackFlag("Stack, e.g. prod"),
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
  examples: [
    "npm run logs -- --stack prod --service ems --follow",
    "npm run logs -- -s prod --service postgres --since 1h",
  ],
} as const satisfies CommandSpec;

export interface LogsOptions {
  stack: string;
  service: string;
  follow: boolean;
  lines: number;
  since?: string;
}

const SINCE = /^([0-9]+[smhd]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?)$/;

export function parseLogsArgs(argv: readonly string[]): { help: true } | { help: false; options: LogsOptions } {
  const parsed = parseArgs(logsSpec, argv);
  if (parsed.help) return parsed;
  const { stack, service, follow, lines, since } = parsed.values;
  if (since !== undefined && !SINCE.test(since))
    throw new UsageError(`--since "${since}" is not a duration (10m, 2h, 1d) nor a date (2025-03-14T18:00)`);
  if (lines === 0) throw new UsageError("--lines must be at least 1");
  return { help: false, options: { stack, service, follow, lines: lines ?? 100, since } };
}

/** `docker logs` for the container; durations in days become hours (docker knows s, m, h). */
export function logsCommand(container: string, options: Pick<LogsOptions, "follow" | "lines" | "since">): string {
  const since = options.since?.endsWith("d") ? `${Number(options.since.slice(0, -1)) * 24}h` : options.since;
  const flags = [
    ...(options.follow ? ["--follow"] : []),
    "--tail",
    String(options.lines),
    ...(since ? ["--since", since] : []),
  ];
  return `docker logs ${flags.map(shellQuote).join(" ")} ${shellQuote(container)}`;
}

/** The container a service runs now, or an error naming the services the stack has. */
export function pickContainer(containers: readonly ContainerInfo[], service: string, stackName: string): ContainerInfo {
  const found = currentContainer(containers, service);
  if (found) return found;
  const known = [...new Set(containers.map((c) => c.service))].sort().join(", ") || "none";
  throw new Error(
    `stack ${stackName} has no container for service "${service}" on its host (services found: ${known})`,
  );
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(logsSpec, io, () => parseLogsArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;
  try {
    const { stack, target, environment, named, platform } = await openForHost(opts.stack, io, deps);
    if (platform === "swarm") {
      const name = named[opts.service];
      if (!name) throw new Error(`stack ${opts.stack} has no service "${opts.service}"`);
      io.out(`logs of service ${name} (every task):\n`);
      return await deps.host.run(await managerOf(stack), swarmLogsCommand(name, opts));
    }
    const container = pickContainer(
      await findContainers(deps.host, target, environment, named),
      opts.service,
      opts.stack,
    );
    io.out(`logs of ${container.name} (${container.service}, ${container.state}):\n`);
    return await deps.host.run(target, logsCommand(container.id, opts));
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

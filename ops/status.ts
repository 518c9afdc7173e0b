/**
 * `npm run status -- --stack prod`: each container of the stack (service, version and digest, health, uptime,
 * restarts, public URL), the last deploy, and the backup job's last run. Exit 1 when a container is not healthy.
 */
import { CommandSpec, parseArgs, stackFlag } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { ContainerInfo, digestOf, findContainers, isHealthy, versionOf } from "./containers";
import { describeUpdate } from "./history";
import { shellQuote } from "./hostShell";
import { openForHost } from "./stackCommand";
import { mapOutput, stringOutput } from "./stackConfig";
import { swarmStatus } from "./swarm";
import { defaultDeps, OpsDeps } from "./workspace";

export const statusSpec = {
  command: "npm run status --",
  summary:
    "Shows the stack's containers, its last deploy and its last backup. Exits 1 when a container is not running healthy.",
  flags: {
    stack: stackFlag("Stack to inspect, e.g. prod"),
  },
  examples: ["npm run status -- --stack prod", "npm run status -- -s dev"],
} as const satisfies CommandSpec;

/**
 * The host command printing the newest dump of a backups folder as `name<TAB>bytes<TAB>time`, or nothing.
 * Newest by the timestamp in the name (`<db>_<ts>.dump`), as backup.sh's retention reads it, never by mtime.
 */
export function newestDumpCommand(backupDir: string): string {
  const dir = shellQuote(backupDir);
  return (
    `newest=$(for f in ${dir}/*.dump; do [ -e "$f" ] && printf '%s %s\\n' "\${f##*_}" "$f"; done | sort | tail -n 1 | cut -d ' ' -f 2-); ` +
    `if [ -n "$newest" ]; then printf '%s\\t%s\\t%s\\n' "\${newest##*/}" "$(wc -c < "$newest")" "$(date -r "$newest" '+%Y-%m-%d %H:%M %Z')"; fi`
  );
}

/** The host command printing the backup log's last line, or nothing. */
export function lastLogLineCommand(logFile: string): string {
  return `tail -n 1 ${shellQuote(logFile)} 2>/dev/null || true`;
}

/** `2d 3h`, `4h 12m`, `35s` since an ISO time. */
export function formatUptime(startedAt: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(startedAt).getTime()) / 1000));
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return m ? `${m}m` : `${seconds}s`;
}

/** `12.3 MiB` */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The containers table; rows sorted by service then name. Missing containers (named by the output, not found) are rows too. */
export function formatContainers(
  containers: readonly ContainerInfo[],
  missing: readonly string[],
  urls: Record<string, string>,
  now: Date,
): string {
  const rows = [["SERVICE", "CONTAINER", "VERSION", "DIGEST", "HEALTH", "UPTIME", "RESTARTS", "URL"]];
  const sorted = [...containers].sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
  for (const c of sorted) {
    const health = c.state === "running" ? (c.health ?? "running") : `${c.state} (exit ${c.exitCode})`;
    const uptime = c.state === "running" ? formatUptime(c.startedAt, now) : "-";
    rows.push([
      c.service,
      c.name,
      versionOf(c),
      digestOf(c),
      health,
      uptime,
      String(c.restartCount),
      urls[c.service] ?? "-",
    ]);
  }
  for (const m of missing) rows.push([m, "(missing)", "-", "-", "missing", "-", "-", urls[m] ?? "-"]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join("\n") +
    "\n"
  );
}

export async function main(
  argv: readonly string[],
  io: Io,
  deps: OpsDeps = defaultDeps,
  now: () => Date = () => new Date(),
): Promise<number> {
  const args = handleArgs(statusSpec, io, () => {
    const parsed = parseArgs(statusSpec, argv);
    return parsed.help ? parsed : { help: false as const, options: parsed.values };
  });
  if (args.kind === "exit") return args.code;
  try {
    const { stack, target, environment, named, platform } = await openForHost(args.options.stack, io, deps);
    if (platform === "swarm") return await swarmStatus(stack, named, await mapOutput(stack, "urls"), io, deps.host);
    const containers = await findContainers(deps.host, target, environment, named);
    const missing = Object.entries(named)
      .filter(([, name]) => !containers.some((c) => c.name === name))
      .map(([service]) => service);
    io.out(`\n${formatContainers(containers, missing, await mapOutput(stack, "urls"), now())}`);

    const [last] = await stack.history(1, 1, false);
    io.out(`\nlast deploy: ${last ? describeUpdate(last) : "none (the stack was never deployed)"}\n`);

    const backupDir = await stringOutput(stack, "backupDir");
    if (backupDir) {
      const dump = (await deps.host.capture(target, newestDumpCommand(backupDir))).stdout.trim();
      const [name, bytes, when] = dump.split("\t");
      io.out(
        `newest dump: ${dump ? `${backupDir}/${name} (${formatSize(Number(bytes))}, ${when})` : `none in ${backupDir}`}\n`,
      );
    }
    const backupLog = await stringOutput(stack, "backupLog");
    if (backupLog) {
      const line = (await deps.host.capture(target, lastLogLineCommand(backupLog))).stdout.trim();
      io.out(`backup log:  ${line || `(empty: ${backupLog})`}\n`);
    }

    const unhealthy = containers.filter((c) => !isHealthy(c)).map((c) => c.name);
    const problems = [...unhealthy, ...missing.map((m) => `${m} (missing)`)];
    if (containers.length === 0 && Object.keys(named).length === 0) problems.push("no container found");
    if (problems.length) {
      io.err(`unhealthy: ${problems.join(", ")} (npm run logs -- --stack ${stack.name} --service <service>)\n`);
      return 1;
    }
    io.out("all containers healthy\n");
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

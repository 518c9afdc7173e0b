/**
 * `npm run status -- --stack prod`: each container of the stack (service, version and digest, health, uptime,
 * restarts, public URL), the last deploy, the backup job's last run and the off-site copy's ages. Exit 1 when a
 * container is not healthy, the stack was never deployed, or the last off-site backup or successful drill is too old.
 */
import { findContainers, isHealthy } from "../containers";
import { describeUpdate } from "../history";
import { lastLogLineCommand, newestDumpCommand } from "../hostCommands/backups";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { hostTargetOf } from "../runner/stackConfig";
import { offsiteStatusCommand } from "../hostCommands/offsite";
import { offsiteOf, offsiteOffWarning, offsiteReport } from "../offsite";
import { readOpsOutputs } from "../stackOutputs";
import { formatContainers, formatSize } from "../statusReport";
import { databaseNodeOf, swarmStatus } from "../swarm";
import { offsiteSites } from "../offsiteSites";
import { Context, StackLike } from "../runner/context";
import { HostTarget } from "../runner/hostShell";
import { OpsOutputs } from "../../stacks/opsContract";

export const status = defineCommand({
  name: "status",
  summary:
    "Shows the stack's containers, its last deploy, its last backup and off-site copy. Exits 1 when a container is not running healthy, or the last off-site backup or successful restore drill is older than config allows.",
  stack: { mode: "select", description: "Stack to inspect, e.g. prod" },
  confirms: false,
  flags: {},
  examples: ["npm run status -- --stack prod", "npm run status -- -s dev"],
  async run(_options, { stack, host, io, now }) {
    const outputs = await readOpsOutputs(stack);
    if (outputs.platform === "swarm") {
      const replicas = await swarmStatus(stack, outputs.containers, outputs.urls, io, host);
      const backupProblems = await reportBackups(stack, outputs, await databaseNodeOf(stack), { host, io, now });
      for (const p of backupProblems) io.err(`off-site: ${p}\n`);
      return replicas === 0 && backupProblems.length === 0 ? EXIT.ok : EXIT.failed;
    }
    const target = await hostTargetOf(stack);
    const named = outputs.containers;
    const containers = await findContainers(host, target, outputs, named);
    const missing = Object.entries(named)
      .filter(([, name]) => !containers.some((c) => c.name === name))
      .map(([service]) => service);
    io.out(`\n${formatContainers(containers, missing, outputs.urls, now())}`);

    const [last] = await stack.history(1, 1, false);
    io.out(`\nlast deploy: ${last ? describeUpdate(last) : "none (the stack was never deployed)"}\n`);

    const backupProblems = await reportBackups(stack, outputs, target, { host, io, now });
    const unhealthy = containers.filter((c) => !isHealthy(c)).map((c) => c.name);
    const problems = [...unhealthy, ...missing.map((m) => `${m} (missing)`)];
    if (containers.length === 0) problems.push("no container of the stack found on its host");
    if (problems.length)
      io.err(`unhealthy: ${problems.join(", ")} (npm run logs -- --stack ${stack.name} --service <service>)\n`);
    for (const p of backupProblems) io.err(`off-site: ${p}\n`);
    if (problems.length || backupProblems.length) return EXIT.failed;
    io.out("all containers healthy\n");
    return EXIT.ok;
  },
});

/**
 * The backup lines: the newest dump and the backup log's last line (on the database's host), then each off-site
 * site's last backup and drill; returns what makes status exit 1 (an off-site copy too old, or never made).
 */
async function reportBackups(
  stack: StackLike,
  outputs: OpsOutputs,
  target: HostTarget,
  { host, io, now }: Pick<Context, "host" | "io" | "now">,
): Promise<string[]> {
  const dump = (await host.capture(target, newestDumpCommand(outputs.backupDir))).stdout.trim();
  const [name, bytes, when] = dump.split("\t");
  io.out(
    `newest dump: ${dump ? `${outputs.backupDir}/${name} (${formatSize(Number(bytes))}, ${when})` : `none in ${outputs.backupDir}`}\n`,
  );
  const line = (await host.capture(target, lastLogLineCommand(outputs.backupLog))).stdout.trim();
  io.out(`backup log:  ${line || `(empty: ${outputs.backupLog})`}\n`);

  const offsite = offsiteOf(outputs);
  if (!offsite) {
    io.out("off-site backup: off\n");
    if (outputs.environment === "production") io.err(`${offsiteOffWarning(stack.name)}\n`);
    return [];
  }
  const sites = await offsiteSites(stack, offsite);
  const problems: string[] = [];
  for (const site of sites) {
    // On a swarm every node's job has its own ages: each line and problem names its node.
    const prefix = offsite.nodes ? `[${site.label}] ` : "";
    const recorded = (await host.capture(site.target, offsiteStatusCommand(site.command))).stdout;
    const report = offsiteReport(recorded, offsite, now());
    for (const l of report.lines) io.out(`${prefix}${l}\n`);
    problems.push(...report.problems.map((p) => `${prefix}${p}`));
  }
  return problems;
}

runMain(module, status);

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
import { swarmStatus } from "../swarm";

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
    if (outputs.platform === "swarm") return swarmStatus(stack, outputs.containers, outputs.urls, io, host);
    const target = await hostTargetOf(stack);
    const named = outputs.containers;
    const containers = await findContainers(host, target, outputs, named);
    const missing = Object.entries(named)
      .filter(([, name]) => !containers.some((c) => c.name === name))
      .map(([service]) => service);
    io.out(`\n${formatContainers(containers, missing, outputs.urls, now())}`);

    const [last] = await stack.history(1, 1, false);
    io.out(`\nlast deploy: ${last ? describeUpdate(last) : "none (the stack was never deployed)"}\n`);

    const dump = (await host.capture(target, newestDumpCommand(outputs.backupDir))).stdout.trim();
    const [name, bytes, when] = dump.split("\t");
    io.out(
      `newest dump: ${dump ? `${outputs.backupDir}/${name} (${formatSize(Number(bytes))}, ${when})` : `none in ${outputs.backupDir}`}\n`,
    );
    const line = (await host.capture(target, lastLogLineCommand(outputs.backupLog))).stdout.trim();
    io.out(`backup log:  ${line || `(empty: ${outputs.backupLog})`}\n`);

    const offsite = offsiteOf(outputs);
    let offsiteProblems: string[] = [];
    if (offsite) {
      const recorded = (await host.capture(target, offsiteStatusCommand(offsite.command))).stdout;
      const report = offsiteReport(recorded, offsite, now());
      for (const l of report.lines) io.out(`${l}\n`);
      offsiteProblems = report.problems;
    } else {
      io.out("off-site backup: off\n");
      if (outputs.environment === "production") io.err(`${offsiteOffWarning(stack.name)}\n`);
    }

    const unhealthy = containers.filter((c) => !isHealthy(c)).map((c) => c.name);
    const problems = [...unhealthy, ...missing.map((m) => `${m} (missing)`)];
    if (containers.length === 0) problems.push("no container of the stack found on its host");
    if (problems.length)
      io.err(`unhealthy: ${problems.join(", ")} (npm run logs -- --stack ${stack.name} --service <service>)\n`);
    for (const p of offsiteProblems) io.err(`off-site: ${p}\n`);
    if (problems.length || offsiteProblems.length) return EXIT.failed;
    io.out("all containers healthy\n");
    return EXIT.ok;
  },
});

runMain(module, status);

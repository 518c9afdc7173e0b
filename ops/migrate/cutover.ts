/**
 * The cut-over from today's compose system to the stack, in an order that loses nothing:
 *   1. pre-flight (nothing changed when it refuses);
 *   2. pg_dumpall of the running server and a copy of the ACME file into the backups folder;
 *   3. the old APIs, Traefik and Portainer stopped (not removed), Postgres last;
 *   4. `pulumi up`, then each API answers its health gate through the new Traefik;
 *   5. on any failure after step 3: the stack's new containers stopped and the old ones started again
 *      (Postgres first);
 *   6. a summary with the measured downtime (first old container stopped → first API answering 200).
 * Idempotent: with no old container running there is nothing to migrate.
 */
import * as path from "path";
import { PreflightReport, runPreflight, withoutLines } from "../preflight";
import { CUTOVER_COMMANDS as C, stamp } from "./commands";
import type { BoundShell } from "../runner/hostShell";
import { LegacySystem, startOrder, stopOrder } from "./legacy";

/** One API the health gate asks through the new Traefik. */
export interface GateTarget {
  service: string;
  /** Its public host name, e.g. api.ems.edumigsoft.com.br. */
  host: string;
  /** e.g. /api/v1/health */
  healthPath: string;
  /** Sent as x-api-key on stdin; never printed. */
  apiKey: string;
}

/** What the cut-over needs from the stack after `pulumi up`. */
export interface CutoverOutputs {
  /** Names of the containers the stack runs. */
  containers: string[];
  /** The stack's Postgres container (stopped last on undo). */
  postgresContainer?: string;
  apis: GateTarget[];
}

/** Everything the cut-over does goes through these (the CLI wires Pulumi; the tests pass fakes or dockerd). */
export interface CutoverDeps {
  shell: BoundShell;
  /** `pulumi up` of the stack. */
  up(): Promise<{ ok: boolean; message: string }>;
  /** The stack's outputs (after an up). */
  outputs(): Promise<CutoverOutputs>;
  /** Asked once before anything changes; resolve false to stop. */
  confirm(summary: string): Promise<boolean>;
  log(line: string): void;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface GateOptions {
  /** Where the new Traefik listens on the host (127.0.0.1). */
  address: string;
  /** Its HTTPS port (443). */
  port: number;
  /** Skip certificate verification (only for a self-signed proxy in tests). */
  insecure: boolean;
  /** How long each API may take to answer 200. */
  timeoutMs: number;
  /** Pause between probes (the servers allow 20 requests a minute in total). */
  intervalMs: number;
}

export interface CutoverOptions {
  legacy: LegacySystem;
  traefikImage: string;
  backupDir: string;
  /** The label every container of the stack carries, e.g. com.ems.environment=production. */
  stackLabel: string;
  gate: GateOptions;
  /** Remove the old backup cron line(s). */
  replaceCron: boolean;
  /** Only check and print the plan. */
  dryRun: boolean;
  /** `docker stop -t` for the old containers. */
  stopSeconds: number;
}

export type CutoverResult =
  | { outcome: "refused"; problems: string[] }
  | { outcome: "nothing-to-migrate" }
  | { outcome: "planned" }
  | { outcome: "cancelled" }
  | { outcome: "migrated"; downtimeSeconds: number; backup: string[] }
  | { outcome: "rolled-back"; reason: string; restored: string[] }
  | { outcome: "undo-failed"; reason: string; problems: string[] };

export const DEFAULT_GATE: GateOptions = {
  address: "127.0.0.1",
  port: 443,
  insecure: false,
  timeoutMs: 180_000,
  intervalMs: 5_000,
};

export async function runCutover(deps: CutoverDeps, options: CutoverOptions): Promise<CutoverResult> {
  const { shell, log } = deps;
  const { legacy } = options;

  // 1. pre-flight
  const report = await runPreflight(shell, {
    traefikImage: options.traefikImage,
    backupDir: options.backupDir,
    legacy,
  });
  for (const note of report.notes) log(`preflight: ${note}`);
  if (!report.ok) {
    for (const p of report.problems) log(`preflight: REFUSED: ${p}`);
    log("nothing was changed");
    return { outcome: "refused", problems: report.problems };
  }
  const running = report.containers.filter((c) => c.running).map((c) => c.name);
  const pg = legacy.postgresContainer;
  if (running.length === 0) {
    log(
      "nothing to migrate: no container of the old compose system is running" +
        (report.containers.some((c) => c.present)
          ? " (the stopped ones are kept for the undo; remove them once the stack has proved itself)"
          : ""),
    );
    await handleCron(deps, report, options);
    return { outcome: "nothing-to-migrate" };
  }
  if (!running.includes(pg)) {
    const problem = `${pg} is not running while ${running.join(", ")} are: start it (docker start ${pg}) so the databases can be dumped, then run again`;
    log(`preflight: REFUSED: ${problem}`);
    return { outcome: "refused", problems: [problem] };
  }

  const ts = stamp(deps.now());
  const dumpFile = path.posix.join(options.backupDir, `cluster_${ts}.sql.gz`);
  const acmeCopy = path.posix.join(options.backupDir, `${path.posix.basename(legacy.acmeFile, ".json")}_${ts}.json`);
  const toStop = stopOrder(legacy).filter((n) => running.includes(n));
  const plan = [
    `1. pre-flight passed`,
    `2. backup: pg_dumpall of ${pg} → ${dumpFile}; ${legacy.acmeFile} → ${acmeCopy}`,
    `3. stop (not remove), restart policy set to no: ${toStop.join(", ")}`,
    `4. pulumi up, then each API's health gate through the new Traefik on ${options.gate.address}:${options.gate.port}`,
    `5. on failure: stop the stack's containers, start ${startOrder(legacy)
      .filter((n) => running.includes(n))
      .join(", ")} again`,
  ];
  log(`plan (on ${shell.where}):\n  ${plan.join("\n  ")}`);
  if (options.dryRun) {
    log("dry run: nothing was changed");
    return { outcome: "planned" };
  }
  if (!(await deps.confirm(`Cut over ${shell.where} from the compose system to the stack?`))) {
    log("cancelled: nothing was changed");
    return { outcome: "cancelled" };
  }

  // 2. backup first
  const dump = await shell.run(C.dumpAll(pg, legacy.postgresSuperuser, dumpFile), { timeoutMs: 3_600_000 });
  if (dump.code !== 0) {
    log(`backup FAILED, nothing was stopped: ${dump.stderr.trim()}`);
    return { outcome: "refused", problems: [`pg_dumpall failed: ${dump.stderr.trim()}`] };
  }
  log(`backup: ${dumpFile} (${dump.stdout.trim()})`);
  const acme = await shell.run(C.copyAcme(legacy.acmeFile, acmeCopy));
  if (acme.code !== 0) {
    log(`backup FAILED, nothing was stopped: copy of ${legacy.acmeFile}: ${acme.stderr.trim()}`);
    return { outcome: "refused", problems: [`ACME copy failed: ${acme.stderr.trim()}`] };
  }
  const backup = [dumpFile, ...(acme.stdout.trim() === "copied" ? [acmeCopy] : [])];
  log(
    acme.stdout.trim() === "copied"
      ? `backup: ${acmeCopy} (mode kept)`
      : `backup: no ${legacy.acmeFile} on the host: Traefik will ask Let's Encrypt for new certificates`,
  );

  // 3. stop the old system, Postgres last
  const policies = new Map<string, string>();
  for (const name of toStop) {
    const r = await shell.run(C.restartPolicy(name));
    policies.set(name, r.code === 0 && r.stdout.trim() ? r.stdout.trim() : "unless-stopped");
  }
  const stopped: string[] = [];
  const stoppedAt = deps.now();
  for (const name of toStop) {
    const r = await shell.run(C.stop(name, options.stopSeconds), { timeoutMs: (options.stopSeconds + 60) * 1000 });
    if (r.code !== 0) return undo(deps, options, stopped, policies, `docker stop ${name} failed: ${r.stderr.trim()}`);
    stopped.push(name);
    log(`stopped ${name}`);
  }

  // 4. pulumi up and the health gates
  log("pulumi up ...");
  const up = await deps
    .up()
    .catch((e: unknown) => ({ ok: false, message: e instanceof Error ? e.message : String(e) }));
  if (!up.ok) return undo(deps, options, stopped, policies, `pulumi up failed: ${up.message}`);
  log(`pulumi up: ${up.message}`);
  let outputs: CutoverOutputs;
  try {
    outputs = await deps.outputs();
  } catch (e) {
    return undo(
      deps,
      options,
      stopped,
      policies,
      `cannot read the stack outputs: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  let firstAnswer: number | undefined;
  for (const api of outputs.apis) {
    const answered = await healthGate(deps, options.gate, api);
    if (!answered.ok)
      return undo(
        deps,
        options,
        stopped,
        policies,
        `${api.service} did not answer its health gate at https://${api.host}${api.healthPath}: ${answered.last}`,
      );
    firstAnswer ??= answered.at;
    log(`${api.service}: https://${api.host}${api.healthPath} answers 200 through the new Traefik`);
  }

  // 6. summary
  const downtimeSeconds = Math.round(((firstAnswer ?? deps.now()) - stoppedAt) / 100) / 10;
  log(
    `migrated: backup ${backup.join(", ")}; stopped (kept for the undo) ${stopped.join(", ")}; the stack serves ${outputs.apis.map((a) => a.host).join(", ")}`,
  );
  log(`downtime: ${downtimeSeconds} s (first old container stopped → first API answering 200)`);
  await handleCron(deps, report, options);
  return { outcome: "migrated", downtimeSeconds, backup };
}

/** Probes one API until it answers 200 or the time is up. */
async function healthGate(
  deps: CutoverDeps,
  gate: GateOptions,
  api: GateTarget,
): Promise<{ ok: true; at: number } | { ok: false; last: string }> {
  const deadline = deps.now() + gate.timeoutMs;
  const command = C.health({
    host: api.host,
    address: gate.address,
    port: gate.port,
    path: api.healthPath,
    insecure: gate.insecure,
  });
  let last = "no answer";
  for (;;) {
    const r = await deps.shell.run(command, { input: `x-api-key: ${api.apiKey}\n`, timeoutMs: 15_000 });
    const code = r.stdout.trim();
    if (r.code === 0 && code === "200") return { ok: true, at: deps.now() };
    last = r.code === 0 ? `HTTP ${code}` : r.stderr.trim().split("\n").pop() || `curl exit ${r.code}`;
    if (deps.now() + gate.intervalMs > deadline) return { ok: false, last };
    await deps.sleep(gate.intervalMs);
  }
}

/** 5. Stops the stack's containers and starts the old ones again, Postgres first. */
async function undo(
  deps: CutoverDeps,
  options: CutoverOptions,
  stopped: string[],
  policies: Map<string, string>,
  reason: string,
): Promise<CutoverResult> {
  const { shell, log } = deps;
  const legacy = new Set(stopOrder(options.legacy));
  log(`FAILED: ${reason}`);
  log("undoing: stopping the stack's new containers and starting the old system again");
  const problems: string[] = [];

  const fromOutputs = await deps.outputs().catch((e: unknown) => {
    log(
      `undo: no stack outputs (${e instanceof Error ? e.message : String(e)}): finding the new containers by label, data volume and ports`,
    );
    return undefined;
  });
  // The stack's containers by its outputs and label, and whatever else now holds the data volume or 80/443:
  // the old Postgres must never open the volume while another server has it open.
  const found = new Set(fromOutputs?.containers ?? []);
  for (const command of [
    C.withLabel(options.stackLabel),
    C.usingVolume(options.legacy.dataVolume),
    C.publishing(80),
    C.publishing(443),
  ]) {
    for (const name of lines((await shell.run(command)).stdout)) found.add(name);
  }
  const pgLast = fromOutputs?.postgresContainer;
  // The old APIs carry the same com.ems.environment label: they are never the stack's.
  const ours = [...found].filter((n) => !legacy.has(n)).sort((a, b) => Number(a === pgLast) - Number(b === pgLast));
  for (const name of ours) {
    const r = await shell.run(C.stopNew(name), { timeoutMs: 120_000 });
    if (r.code === 0) log(`stopped new ${name}`);
    else if (!/No such container/i.test(r.stderr)) problems.push(`docker stop ${name}: ${r.stderr.trim()}`);
  }
  const holders = lines((await shell.run(C.usingVolume(options.legacy.dataVolume))).stdout).filter(
    (n) => !legacy.has(n),
  );
  if (holders.length > 0) {
    log(
      `undo: PROBLEM: ${holders.join(", ")} still use ${options.legacy.dataVolume}; the old Postgres is NOT started (two servers on one data folder corrupt it)`,
    );
    return {
      outcome: "undo-failed",
      reason,
      problems: [...problems, `${holders.join(", ")} still use ${options.legacy.dataVolume}`],
    };
  }

  const restored: string[] = [];
  for (const name of startOrder(options.legacy).filter((n) => stopped.includes(n))) {
    const r = await shell.run(C.start(name, policies.get(name) ?? "unless-stopped"));
    if (r.code !== 0) {
      problems.push(`docker start ${name}: ${r.stderr.trim()}`);
      continue;
    }
    if (name === options.legacy.postgresContainer) {
      const ready = await shell.run(C.waitPostgres(name, options.legacy.postgresSuperuser, 60), { timeoutMs: 90_000 });
      if (ready.code !== 0) problems.push(`${name} started but does not accept connections`);
    }
    restored.push(name);
    log(`started old ${name}`);
  }
  if (problems.length > 0) {
    for (const p of problems) log(`undo: PROBLEM: ${p}`);
    log("the undo did not finish: fix the problems above, then `docker start` the old containers (Postgres first)");
    return { outcome: "undo-failed", reason, problems };
  }
  log(
    `undone: the old compose system runs again (${restored.join(", ") || "nothing had been stopped"}); the backup stays in ${options.backupDir}`,
  );
  return { outcome: "rolled-back", reason, restored };
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Reports the old backup cron line(s) and, with --replace-cron, removes them. */
async function handleCron(deps: CutoverDeps, report: PreflightReport, options: CutoverOptions): Promise<void> {
  if (report.cronLines.length === 0) return;
  if (!options.replaceCron || options.dryRun) {
    deps.log(
      `the old backup cron line is still installed (the stack installs its own job): rerun with --replace-cron to remove it`,
    );
    return;
  }
  const r = await deps.shell.run(C.writeCrontab, { input: withoutLines(report.crontab, report.cronLines) });
  deps.log(
    r.code === 0
      ? `removed the old backup cron line(s): ${report.cronLines.join(" | ")}`
      : `could not rewrite the crontab: ${r.stderr.trim()}`,
  );
}

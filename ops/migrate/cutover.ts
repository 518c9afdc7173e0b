/**
 * The cut-over from today's compose system to the stack, in an order that loses nothing:
 *   1. pre-flight (nothing changed when it refuses): engine, disk, the old containers, no foreign container on the
 *      data volume, and the credentials the old containers run with equal to the stack's (or adopted);
 *   2. a journal on the host (mode 600), then pg_dumpall and a copy of the ACME file where no old retention reaches;
 *   3. the uploads in the old API containers' layers copied to the stack's folders and verified;
 *   4. the old Traefik stopped first, the old APIs killed (they ignore SIGTERM), their uploads copied again,
 *      Portainer and Postgres stopped (all kept, restart policy `no`);
 *   5. `pulumi up`, then each API answers its health gate through the new Traefik (a rate-limited 403 counts when
 *      the API is logged into PostgreSQL), and every table holds the rows it held;
 *   6. on any failure or interruption after step 2: the undo (undo.ts), which proves the old system runs.
 * A later run that finds the journal resumes (or, with --undo, undoes); with no journal and no old container
 * running there is nothing to migrate.
 */
import * as path from "path";
import { PreflightReport, runPreflight } from "../preflight";
import { CUTOVER_COMMANDS as C } from "../hostCommands/cutover";
import type { BoundShell } from "../runner/hostShell";
import { compareCredentials, LegacyApi, readLegacyCredentials, superuserNote } from "./credentials";
import { Journal, JournalFile, journalPath, Step, STEPS } from "./journal";
import { stopOrder } from "./legacy";
import { parseRowCounts, compareRowCounts } from "./database";
import { GateOptions, healthGate } from "../healthGate";
import { undo } from "./undo";
import { runHostChecks } from "./hostChecks";
import { describeForeignHolders, foreignHolders as foreignOf } from "../dataVolume";
import type { CutoverDeps, CutoverOptions, CutoverOutputs, CutoverResult, CutoverRun } from "./types";
import { continueInterrupted, restartPolicies, showPlanAndConfirm } from "../liveChange";
export type { CutoverDeps, CutoverOptions, CutoverOutputs, CutoverResult } from "./types";

/** `20261201T195500Z` for a time in ms. */
function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export const DEFAULT_GATE: GateOptions = {
  address: "127.0.0.1",
  port: 443,
  insecure: false,
  timeoutMs: 180_000,
  intervalMs: 5_000,
};

const refused = (deps: CutoverDeps, problems: string[]): CutoverResult => {
  for (const p of problems) deps.log(`preflight: REFUSED: ${p}`);
  deps.log("nothing was changed");
  return { outcome: "refused", problems };
};

export async function runCutover(deps: CutoverDeps, options: CutoverOptions): Promise<CutoverResult> {
  const { shell, log } = deps;
  const legacy = options.legacy;
  const journal = new JournalFile(shell, journalPath(options.journalDir));

  const found = await journal.read();
  if (found) {
    log(
      `found the journal of a cut-over started ${found.startedAt} and interrupted at step "${found.step}" (${journal.file})`,
    );
    const holders = await foreignHolders(shell, options);
    if (holders.length > 0) return refused(deps, holders);
    const run: CutoverRun = { deps, options, journal, state: found };
    return continueInterrupted(log, found, options, "the old system", {
      undo: (reason) => undo(run, reason),
      resume: () => proceedOrUndo(run, found.step),
    });
  }
  if (options.undo) {
    log(`nothing to undo: no cut-over journal at ${journal.file}`);
    return { outcome: "nothing-to-undo" };
  }

  // 1. pre-flight
  const report = await runPreflight(shell, {
    traefikImage: options.traefikImage,
    backupDir: options.backupDir,
    legacy,
  });
  for (const note of report.notes) log(`preflight: ${note}`);
  if (!report.ok) return refused(deps, report.problems);
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
  if (!running.includes(pg))
    return refused(deps, [
      `${pg} is not running while ${running.join(", ")} are: start it (docker start ${pg}) so the databases can be dumped, then run again`,
    ]);
  const holders = await foreignHolders(shell, options);
  if (holders.length > 0) return refused(deps, holders);

  const credentials = await readLegacyCredentials(shell, legacy);
  const note = superuserNote(credentials, pg);
  if (note) log(`preflight: ${note}`);
  const mismatches = compareCredentials(credentials, options.credentials, {
    stack: options.stackName,
    postgresContainer: pg,
  });
  if (mismatches.length > 0) {
    if (!options.adoptCredentials || !deps.adoptCredentials || options.dryRun) {
      for (const m of mismatches) log(`preflight: ${m.message}\n    ${m.command}`);
      return refused(deps, [
        `the stack's config differs from what the old system runs with (${mismatches.map((m) => m.key).join(", ")}): ` +
          `run with --adopt-credentials to take them over as secrets, or set them with the lines above`,
      ]);
    }
    await deps.adoptCredentials(mismatches);
    log(`adopted from the old containers into the stack's config: ${mismatches.map((m) => m.key).join(", ")}`);
  } else {
    log("preflight: the stack's config holds the credentials, databases and roles the old containers run with");
  }

  if (options.hostChecks) {
    const checks = await runHostChecks(shell, options.hostChecks);
    for (const n of checks.notes) log(`preflight: ${n}`);
    if (checks.problems.length > 0) return refused(deps, checks.problems);
  }

  const toStop = stopOrder(legacy).filter((n) => running.includes(n));
  const plan = [
    `1. pre-flight passed; journal ${journal.file}`,
    `2. backup: pg_dumpall of ${pg} and ${legacy.acmeFile} into ${options.backupDir}`,
    `3. uploads in the old containers' layers copied to ${options.uploads.map((u) => u.dest).join(", ")} and verified`,
    `4. stop (kept, restart policy no): ${toStop.join(", ")} (the old APIs killed: they ignore SIGTERM)`,
    `5. pulumi up, then each API's health gate through the new Traefik on ${options.gate.address}:${options.gate.port}, and every table's rows`,
    `6. on failure or interruption: stop this system's new containers, start ${toStop.join(", ")} again and watch the old APIs log in`,
  ];
  const go = await showPlanAndConfirm(
    deps,
    shell,
    plan,
    options.dryRun,
    `Cut over ${shell.where} from the compose system to the stack?`,
  );
  if (go !== "go") return { outcome: go };
  const policies = await restartPolicies(shell, toStop);
  const state: Journal = {
    version: 1,
    startedAt: new Date(deps.now()).toISOString(),
    step: "backup",
    policies,
    backup: [],
  };
  const run: CutoverRun = { deps, options, journal, state, report };
  await journal.write(state);
  log(`journal: ${journal.file}`);
  return proceedOrUndo(run, "backup");
}

/** The steps; an unexpected error on the way (the outputs unreadable, a host file refused) is undone like a failure. */
async function proceedOrUndo(run: CutoverRun, from: Step): Promise<CutoverResult> {
  try {
    return await proceed(run, from);
  } catch (e) {
    return undo(run, `unexpected error in step "${run.state.step}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Steps 2 to 6 from `from` on (a fresh run starts at backup; a resumed one where its journal stopped). */
async function proceed(run: CutoverRun, from: Step): Promise<CutoverResult> {
  const { deps, options, state } = run;
  const { shell, log } = deps;
  const legacy = options.legacy;
  const pg = legacy.postgresContainer;
  const at = (step: Step) => STEPS.indexOf(from) <= STEPS.indexOf(step);
  const enter = async (step: Step): Promise<string | undefined> => {
    state.step = step;
    await run.journal.write(state);
    await deps.checkpoint?.(step);
    const why = deps.interrupted?.();
    return why ? `interrupted (${why}) before step "${step}"` : undefined;
  };
  const oldRunning = async (name: string) => (await shell.run(C.runState(name))).stdout.startsWith("true");
  let why: string | undefined;

  // 2. backup first
  if (at("backup")) {
    if ((why = await enter("backup"))) return undo(run, why);
    if (await oldRunning(pg)) {
      const ts = stamp(deps.now());
      const dumpFile = path.posix.join(options.backupDir, `cluster_${ts}.sql.gz`);
      const acmeCopy = path.posix.join(
        options.backupDir,
        `${path.posix.basename(legacy.acmeFile, ".json")}_${ts}.json`,
      );
      const dump = await shell.run(C.dumpAll(pg, legacy.postgresSuperuser, dumpFile), { timeoutMs: 3_600_000 });
      if (dump.code !== 0) return undo(run, `pg_dumpall failed: ${dump.stderr.trim()}`);
      log(`backup: ${dumpFile} (${dump.stdout.trim()})`);
      const acme = await shell.run(C.copyAcme(legacy.acmeFile, acmeCopy));
      if (acme.code !== 0) return undo(run, `ACME copy failed: copy of ${legacy.acmeFile}: ${acme.stderr.trim()}`);
      state.backup = [dumpFile, ...(acme.stdout.trim() === "copied" ? [acmeCopy] : [])];
      log(
        acme.stdout.trim() === "copied"
          ? `backup: ${acmeCopy} (mode kept)`
          : `backup: no ${legacy.acmeFile} on the host: Traefik will ask Let's Encrypt for new certificates`,
      );
    } else if (state.backup.length === 0) {
      return undo(run, `${pg} is not running and the journal names no dump: nothing to resume from`);
    }
  }

  // 3. uploads: a first pass while the old system serves (the bulk), a second once its APIs are stopped
  const credentials = await readLegacyCredentials(shell, legacy);
  const copies = uploadCopies(credentials.apis, options);
  if (at("copy-uploads")) {
    if ((why = await enter("copy-uploads"))) return undo(run, why);
    const problem = await copyUploads(deps, copies);
    if (problem) return undo(run, problem);
  }

  // 4. stop: the old Traefik first (no new request), the APIs killed, then Portainer and Postgres
  if (at("stop")) {
    if ((why = await enter("stop"))) return undo(run, why);
    state.stoppedAt ??= deps.now();
    await run.journal.write(state);
    for (const name of stopOrder(legacy).filter((n) => n in state.policies)) {
      // The rows of every table, once the APIs are down and before the server stops: the gate compares the new one's.
      if (name === pg && (await oldRunning(pg))) {
        const rows = await rowCountsOf(shell, pg, legacy.postgresSuperuser);
        if (rows) state.rows = Object.fromEntries(rows);
        await run.journal.write(state);
      }
      const api = legacy.apiContainers.includes(name);
      const r = await shell.run(api ? C.kill(name) : C.stop(name, options.stopSeconds), {
        timeoutMs: (options.stopSeconds + 60) * 1000,
      });
      if (r.code !== 0) return undo(run, `stopping ${name} failed: ${r.stderr.trim()}`);
      log(`stopped ${name}${api ? " (killed: it ignores SIGTERM)" : ""}`);
      if (name === legacy.apiContainers[legacy.apiContainers.length - 1]) {
        const problem = await copyUploads(deps, copies);
        if (problem) return undo(run, problem);
      }
    }
  }

  // 5. pulumi up and the gates
  if ((why = await enter("up"))) return undo(run, why);
  log("pulumi up ...");
  const up = await deps
    .up()
    .catch((e: unknown) => ({ ok: false, message: e instanceof Error ? e.message : String(e) }));
  if (!up.ok) return undo(run, `pulumi up failed: ${up.message}`);
  log(`pulumi up: ${up.message}`);
  if ((why = await enter("gate"))) return undo(run, why);
  let outputs: CutoverOutputs;
  try {
    outputs = await deps.outputs();
  } catch (e) {
    return undo(run, `cannot read the stack outputs: ${e instanceof Error ? e.message : String(e)}`);
  }
  let firstAnswer: number | undefined;
  for (const api of outputs.apis) {
    const postgres = outputs.postgresContainer
      ? { container: outputs.postgresContainer, superuser: legacy.postgresSuperuser }
      : undefined;
    const answered = await healthGate(deps, options.gate, api, postgres);
    if (!answered.ok)
      return undo(
        run,
        `${api.service} did not answer its health gate at https://${api.host}${api.healthPath}: ${answered.last}`,
      );
    firstAnswer ??= answered.at;
    log(`${api.service}: https://${api.host}${api.healthPath} ${answered.how} through the new Traefik`);
    if ((why = deps.interrupted?.())) return undo(run, `interrupted (${why}) during the health gates`);
  }
  if (outputs.postgresContainer && state.rows) {
    const after = await rowCountsOf(shell, outputs.postgresContainer, legacy.postgresSuperuser);
    const verdict = compareRowCounts(new Map(Object.entries(state.rows)), after ?? new Map());
    if (!verdict.ok) return undo(run, `the new PostgreSQL does not hold the old rows: ${verdict.message}`);
    log(`rows: ${verdict.message}`);
  }

  // 6. summary
  const downtimeSeconds = Math.round(((firstAnswer ?? deps.now()) - (state.stoppedAt ?? deps.now())) / 100) / 10;
  log(
    `migrated: backup ${state.backup.join(", ")}; stopped (kept for the undo) ${Object.keys(state.policies).join(", ")}; the stack serves ${outputs.apis.map((a) => a.host).join(", ")}`,
  );
  log(`downtime: ${downtimeSeconds} s (old Traefik stopped → first API answering through the new Traefik)`);
  await run.journal.remove();
  // The old Postgres can no longer be started by mistake on the volume: its container goes (its layer holds no data;
  // the data is the volume the stack's server runs on, and the verified dump). The others stay, stopped.
  const removed = await shell.run(C.removeStopped(pg));
  log(
    removed.code === 0
      ? `removed the old ${pg} container (stopped; its data is ${legacy.dataVolume}, now the stack's, and the dump ${state.backup[0] ?? ""}): nothing can start a second server on the volume by mistake`
      : `could not remove the old ${pg} container (${removed.stderr.trim()}): remove it (docker rm ${pg}) before the next deploy, which refuses while it mounts ${legacy.dataVolume}`,
  );
  const report =
    run.report ??
    (await runPreflight(shell, { traefikImage: options.traefikImage, backupDir: options.backupDir, legacy }));
  await handleCron(deps, report, options);
  return { outcome: "migrated", downtimeSeconds, backup: state.backup };
}

/** The row counts of every table; undefined when they cannot be read. */
async function rowCountsOf(
  shell: BoundShell,
  container: string,
  user: string,
): Promise<Map<string, number> | undefined> {
  const r = await shell.run(C.rowCounts(container, user), { timeoutMs: 600_000 });
  return r.code === 0 ? parseRowCounts(r.stdout) : undefined;
}

/** Containers other than the old Postgres and this system's own that mount the data volume (running or not). */
async function foreignHolders(shell: BoundShell, options: CutoverOptions): Promise<string[]> {
  const volume = options.legacy.dataVolume;
  const r = await shell.run(C.volumeHolders(volume));
  return describeForeignHolders(volume, foreignOf(r.stdout, options.system, [options.legacy.postgresContainer]));
}

interface UploadCopy {
  container: string;
  src: string;
  dest: string;
}

function uploadCopies(apis: readonly LegacyApi[], options: CutoverOptions): UploadCopy[] {
  return apis.flatMap((a) => {
    const dest = options.uploads.find((u) => u.service === a.service)?.dest;
    return dest ? [{ container: a.container, src: a.uploadPath, dest }] : [];
  });
}

/** Copies every old API's uploads out of its layer; a problem (a conflict, a short copy) is returned. */
async function copyUploads(deps: CutoverDeps, copies: readonly UploadCopy[]): Promise<string | undefined> {
  for (const c of copies) {
    const { command, input } = C.copyUploads(c.container, c.src, c.dest);
    const r = await deps.shell.run(command, { input, timeoutMs: 3_600_000 });
    const out = r.stdout.trim();
    if (r.code !== 0)
      return (
        `the uploads in ${c.container}:${c.src} could not be copied to ${c.dest} (${out || `exit ${r.code}`}): ` +
        `${r.stderr.trim()}; files already in ${c.dest} are never overwritten: move the conflicting ones aside, then run again`
      );
    deps.log(
      out === "none"
        ? `uploads: ${c.container} has nothing in ${c.src}`
        : `uploads: ${c.container}:${c.src} → ${c.dest}: ${out} (verified)`,
    );
  }
  return undefined;
}

/** The old backup cron line(s): disabled (commented out, so they can be put back) after a successful cut-over. */
async function handleCron(deps: CutoverDeps, report: PreflightReport, options: CutoverOptions): Promise<void> {
  if (report.cronLines.length === 0 || options.dryRun) return;
  const disabled = report.crontab
    .split("\n")
    .map((line) =>
      report.cronLines.includes(line) ? `# disabled by npm run migrate (the stack backs up): ${line}` : line,
    )
    .join("\n");
  const r = await deps.shell.run(C.writeCrontab, { input: disabled });
  deps.log(
    r.code === 0
      ? `disabled the old backup cron line(s) (commented out): ${report.cronLines.join(" | ")}`
      : `could not rewrite the crontab: ${r.stderr.trim()}: remove the old backup line by hand (crontab -e)`,
  );
}

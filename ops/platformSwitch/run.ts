/**
 * The move of a live one-engine stack (`platform: docker`) to `platform: swarm`, in an order where one system
 * always serves and nothing is lost:
 *   1. pre-flight (nothing changed when it refuses): the stack last deployed the docker platform, no interrupted
 *      update in its state, no foreign container on the data volume, and the engine the old containers run on is
 *      the one of the nodes the Postgres and Traefik pins select (so the data volume, uploads and ACME store stay
 *      where they are);
 *   2. a journal on the host (mode 600), the stack's state saved beside it, then a verified pg_dumpall;
 *   3. the old containers stopped, kept, restart policy `no`: Traefik first (no new request), the APIs killed (they
 *      ignore SIGTERM), Portainer, Postgres last (a clean shutdown: the Swarm task opens a closed cluster);
 *   4. the old platform's containers, networks and volumes taken out of the state (state.ts), and
 *      `ems-infra:platformSwitch` set so the program's guard lets this one up through;
 *   5. `pulumi up`, then the gate: every service of the stack at its replica count (Swarm counts a task once its
 *      health check passes);
 *   6. on any failure or interruption after step 2, the undo: the system's Swarm services removed, the data volume
 *      free, the saved state imported, the old containers started again (Postgres first) with their policies.
 * A later run that finds the journal resumes it (or, with --undo, undoes it).
 */
import * as path from "path";
import type { Deployment } from "@pulumi/pulumi/automation";
import { CUTOVER_COMMANDS as C } from "../hostCommands/cutover";
import { PLATFORM_SWITCH_COMMANDS as S } from "../hostCommands/platformSwitch";
import { describeForeignHolders, foreignHolders } from "../dataVolume";
import type { BoundShell } from "../runner/hostShell";
import { HostFile, SWITCH_STEPS, SwitchJournal, SwitchJournalFile, SwitchStep, switchStatePath } from "./journal";
import { pendingOperations, withoutOldPlatform } from "./state";
import { continueInterrupted, restartPolicies, showPlanAndConfirm } from "../liveChange";

export interface SwitchDeps {
  /** The host the one-engine stack runs on. */
  shell: BoundShell;
  /** What `placeIdentity` of the data volume prints on the nodes the Postgres and Traefik pins select (over SSH). */
  pinnedPlaces(): Promise<{ postgres: string; traefik: string }>;
  /** Removes the system's Swarm services through a manager; resolves with what it removed. */
  removeNewPlatform(): Promise<string[]>;
  /** `pulumi stack export` / `import`. */
  exportState(): Promise<Deployment>;
  importState(state: Deployment): Promise<void>;
  /** Sets (true) or removes `ems-infra:platformSwitch: swarm`. */
  allowSwitch(on: boolean): Promise<void>;
  up(): Promise<{ ok: boolean; message: string }>;
  /** Every service of the stack at its replica count; `message` says what it saw. */
  gate(): Promise<{ ok: boolean; message: string }>;
  confirm(question: string): Promise<boolean>;
  log(line: string): void;
  now(): number;
  /** The signal that interrupted the run, if any (checked as each step starts). */
  interrupted?(): string | undefined;
  /** Called as each step starts, after the journal names it (tests stop a run dead there). */
  checkpoint?(step: SwitchStep): Promise<void>;
}

export interface SwitchOptions {
  stackName: string;
  system: string;
  /** The platform the stack's outputs say it last deployed (undefined: never deployed). */
  deployedPlatform: "docker" | "swarm" | undefined;
  /** The stack's data volume and its PostgreSQL superuser. */
  volume: string;
  postgresUser: string;
  /** The old containers by role, from the stack's outputs. */
  containers: { traefik?: string; postgres: string; portainer?: string; apis: string[] };
  /** Where the journal and the saved state go (the secrets folder, else the backups folder). */
  journalDir: string;
  /** Where the safety dump goes. */
  backupDir: string;
  dryRun: boolean;
  undo: boolean;
  stopSeconds: number;
}

export type SwitchResult =
  | { outcome: "switched"; backup: string[]; downtimeSeconds: number }
  | { outcome: "refused"; problems: string[] }
  | { outcome: "planned" | "cancelled" | "nothing-to-undo" }
  | { outcome: "rolled-back"; reason: string; restored: string[] }
  | { outcome: "undo-failed"; reason: string; problems: string[] };

interface SwitchRun {
  deps: SwitchDeps;
  options: SwitchOptions;
  journal: SwitchJournalFile;
  state: SwitchJournal;
}

/** Stop order: Traefik first (no new request), the APIs, Portainer, Postgres last. */
function stopOrder(c: SwitchOptions["containers"]): string[] {
  return [c.traefik, ...c.apis, c.portainer, c.postgres].filter((n): n is string => !!n);
}

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

const refused = (deps: SwitchDeps, problems: string[]): SwitchResult => {
  for (const p of problems) deps.log(`pre-flight: REFUSED: ${p}`);
  deps.log("nothing was changed");
  return { outcome: "refused", problems };
};

export async function runSwitch(deps: SwitchDeps, options: SwitchOptions): Promise<SwitchResult> {
  const { shell, log } = deps;
  const journal = new SwitchJournalFile(shell, options.journalDir);
  const found = await journal.read();
  if (found) {
    log(
      `found the journal of a platform switch started ${found.startedAt}, stopped at step "${found.step}" (${journal.file})`,
    );
    // The old containers are the journal's: after the up, the stack's outputs name the Swarm services instead.
    const resumed = { ...options, containers: found.containers, volume: found.volume };
    const run: SwitchRun = { deps, options: resumed, journal, state: found };
    return continueInterrupted(log, found, options, "the one-engine system", {
      undo: (reason) => undo(run, reason),
      resume: () => proceedOrUndo(run, found.step),
    });
  }
  if (options.undo) {
    log(`nothing to undo: no platform switch journal at ${journal.file}`);
    return { outcome: "nothing-to-undo" };
  }

  // 1. pre-flight
  if (options.deployedPlatform !== "docker")
    return refused(deps, [
      options.deployedPlatform === undefined
        ? `stack ${options.stackName} was never deployed: a first deploy on swarm is a plain npm run deploy`
        : `stack ${options.stackName} already runs the ${options.deployedPlatform} platform`,
    ]);
  const before = await deps.exportState();
  if (pendingOperations(before) > 0)
    return refused(deps, [
      `the state holds an interrupted update's pending operations: run npm run deploy -- --stack ${options.stackName} on the one-engine platform first`,
    ]);
  const holders = await shell.run(C.volumeHolders(options.volume));
  if (holders.code !== 0)
    return refused(deps, [`cannot list the containers on ${options.volume}: ${holders.stderr.trim()}`]);
  const foreign = foreignHolders(holders.stdout, options.system);
  if (foreign.length > 0) return refused(deps, describeForeignHolders(options.volume, foreign));
  const here = (await shell.run(S.placeIdentity(options.volume))).stdout.trim();
  let pinned: { postgres: string; traefik: string };
  try {
    pinned = await deps.pinnedPlaces();
  } catch (e) {
    return refused(deps, [`cannot reach the pinned nodes: ${e instanceof Error ? e.message : String(e)}`]);
  }
  const misplaced = (["postgres", "traefik"] as const).filter(
    (k) => !here || here.endsWith(" absent") || pinned[k] !== here,
  );
  if (misplaced.length > 0)
    return refused(
      deps,
      misplaced.map(
        (k) =>
          `the node ems-infra:swarm.pins.${k} selects is "${pinned[k] || "unknown"}" (engine, host, ${options.volume} created), not this stack's "${here || "unknown"}" on ${shell.where}: ` +
          `${k === "postgres" ? "the data volume" : "the ACME store and ports 80/443"} would be on another machine. Label this host's node instead`,
      ),
    );
  log(
    `pre-flight: the pinned Postgres and Traefik node is this stack's engine and disk (${here}): the data volume, uploads and ACME store stay in place`,
  );

  const running: string[] = [];
  for (const name of stopOrder(options.containers)) {
    if ((await shell.run(C.runState(name))).stdout.startsWith("true")) running.push(name);
  }
  if (!running.includes(options.containers.postgres))
    return refused(deps, [
      `${options.containers.postgres} is not running: start it (docker start ${options.containers.postgres}) so the databases can be dumped`,
    ]);

  const plan = [
    `1. pre-flight passed; journal ${journal.file}, the stack's state saved as ${switchStatePath(options.journalDir)}`,
    `2. backup: pg_dumpall of ${options.containers.postgres} into ${options.backupDir}, verified`,
    `3. stop (kept, restart policy no): ${running.join(", ")}`,
    `4. the old containers, networks and volumes out of the state (kept on the host); ems-infra:platformSwitch set`,
    `5. pulumi up on swarm, then every service at its replica count`,
    `6. on failure or interruption: the Swarm services removed, the state put back, ${running.join(", ")} started again`,
  ];
  const go = await showPlanAndConfirm(
    deps,
    shell,
    plan,
    options.dryRun,
    `Move stack ${options.stackName} from the one-engine platform to swarm?`,
  );
  if (go !== "go") return { outcome: go };
  const policies = await restartPolicies(shell, running);
  const state: SwitchJournal = {
    version: 1,
    startedAt: new Date(deps.now()).toISOString(),
    step: "backup",
    policies,
    containers: options.containers,
    volume: options.volume,
    backup: [],
    stateFile: switchStatePath(options.journalDir),
  };
  await journal.write(state);
  await new HostFile(shell, state.stateFile).write(`${JSON.stringify(before)}\n`);
  log(`journal: ${journal.file}; state saved: ${state.stateFile}`);
  return proceedOrUndo({ deps, options, journal, state }, "backup");
}

/** The steps; an unexpected error on the way (a file the host would not write, a state import refused) is undone too. */
async function proceedOrUndo(run: SwitchRun, from: SwitchStep): Promise<SwitchResult> {
  try {
    return await proceed(run, from);
  } catch (e) {
    return undo(run, e instanceof Error ? e.message : String(e));
  }
}

/** Steps 2 to 5 from `from` on. */
async function proceed(run: SwitchRun, from: SwitchStep): Promise<SwitchResult> {
  const { deps, options, state } = run;
  const { shell, log } = deps;
  const pg = options.containers.postgres;
  const at = (step: SwitchStep) => SWITCH_STEPS.indexOf(from) <= SWITCH_STEPS.indexOf(step);
  const enter = async (step: SwitchStep): Promise<string | undefined> => {
    state.step = step;
    await run.journal.write(state);
    await deps.checkpoint?.(step);
    const why = deps.interrupted?.();
    return why ? `interrupted (${why}) before step "${step}"` : undefined;
  };
  let why: string | undefined;

  if (at("backup")) {
    if ((why = await enter("backup"))) return undo(run, why);
    if ((await shell.run(C.runState(pg))).stdout.startsWith("true")) {
      const file = path.posix.join(options.backupDir, `cluster_${stamp(deps.now())}.sql.gz`);
      const dump = await shell.run(C.dumpAll(pg, options.postgresUser, file), { timeoutMs: 3_600_000 });
      if (dump.code !== 0) return undo(run, `pg_dumpall failed: ${dump.stderr.trim()}`);
      state.backup = [file];
      log(`backup: ${file} (${dump.stdout.trim()}, complete)`);
    } else if (state.backup.length === 0) {
      return undo(run, `${pg} is not running and the journal names no dump: nothing to resume from`);
    }
  }

  if (at("stop")) {
    if ((why = await enter("stop"))) return undo(run, why);
    state.stoppedAt ??= deps.now();
    await run.journal.write(state);
    for (const name of stopOrder(options.containers).filter((n) => n in state.policies)) {
      const api = options.containers.apis.includes(name);
      const r = await shell.run(api ? C.kill(name) : C.stop(name, options.stopSeconds), {
        timeoutMs: (options.stopSeconds + 60) * 1000,
      });
      if (r.code !== 0) return undo(run, `stopping ${name} failed: ${r.stderr.trim()}`);
      log(`stopped ${name}${api ? " (killed: it ignores SIGTERM)" : ""}`);
    }
  }

  if (at("state")) {
    if ((why = await enter("state"))) return undo(run, why);
    if (!state.stateMoved) {
      const { state: moved, dropped } = withoutOldPlatform(await savedState(run));
      await deps.importState(moved);
      state.stateMoved = true;
      await run.journal.write(state);
      log(`state: ${dropped.length} resource(s) of the one-engine platform taken out of the state, kept on the host`);
    }
    await deps.allowSwitch(true);
  }

  if (at("up")) {
    if ((why = await enter("up"))) return undo(run, why);
    log("pulumi up ...");
    const up = await deps
      .up()
      .catch((e: unknown) => ({ ok: false, message: e instanceof Error ? e.message : String(e) }));
    if (!up.ok) return undo(run, `pulumi up failed: ${up.message}`);
    log(`pulumi up: ${up.message}`);
  }

  if ((why = await enter("gate"))) return undo(run, why);
  const gate = await deps
    .gate()
    .catch((e: unknown) => ({ ok: false, message: e instanceof Error ? e.message : String(e) }));
  if (!gate.ok) return undo(run, `the swarm does not serve: ${gate.message}`);
  log(`gate: ${gate.message}`);
  if ((why = deps.interrupted?.())) return undo(run, `interrupted (${why}) during the gate`);

  // Done: the old containers go (their data is the volume the Swarm task runs on, and the dump), so nothing can start
  // a second server on the volume by mistake; the journal and the saved state go last.
  await deps.allowSwitch(false);
  for (const name of stopOrder(options.containers).filter((n) => n in state.policies)) {
    const r = await shell.run(C.removeStopped(name));
    log(
      r.code === 0
        ? `removed the old ${name} container (stopped)`
        : `could not remove ${name}: ${r.stderr.trim()} (remove it: docker rm ${name})`,
    );
  }
  const downtimeSeconds = Math.round((deps.now() - (state.stoppedAt ?? deps.now())) / 100) / 10;
  await new HostFile(shell, state.stateFile).remove();
  await run.journal.remove();
  log(
    `switched: stack ${options.stackName} runs on swarm; backup ${state.backup.join(", ")}; downtime ${downtimeSeconds} s (old Traefik stopped → gate passed)`,
  );
  return { outcome: "switched", backup: state.backup, downtimeSeconds };
}

async function savedState(run: SwitchRun): Promise<Deployment> {
  const text = await new HostFile(run.deps.shell, run.state.stateFile).read();
  if (!text.trim()) throw new Error(`the saved state ${run.state.stateFile} is missing`);
  return JSON.parse(text) as Deployment;
}

/**
 * Back to the one-engine platform: the Swarm services go first (their Postgres task holds the volume, their Traefik
 * ports 80/443), then the saved state is imported (the old containers, networks and volume back under the stack),
 * then the old containers start in reverse stop order with their policies. The journal goes only when all of that
 * holds; otherwise it says what is left and the next run (--undo) finishes it.
 */
async function undo(run: SwitchRun, reason: string): Promise<SwitchResult> {
  const { deps, options, state, journal } = run;
  const { shell, log } = deps;
  log(options.undo ? `undo: ${reason}` : `FAILED: ${reason}`);
  if (state.stoppedAt === undefined) {
    await new HostFile(shell, state.stateFile).remove();
    await journal.remove();
    log("nothing was stopped: the one-engine system still serves");
    return { outcome: "refused", problems: [reason] };
  }
  log("undoing: removing this system's Swarm services and starting the one-engine containers again");
  state.reached ??= state.step;
  state.step = "undo";
  await journal.write(state);
  const problems: string[] = [];
  const pg = options.containers.postgres;

  // The Swarm services exist only once the up started (the manager may be unreachable before that, harmlessly).
  if (SWITCH_STEPS.indexOf(state.reached) >= SWITCH_STEPS.indexOf("up"))
    try {
      const removed = await deps.removeNewPlatform();
      log(
        removed.length
          ? `removed the Swarm services ${removed.join(", ")}`
          : "no Swarm service of this system to remove",
      );
    } catch (e) {
      problems.push(`the Swarm services could not be removed: ${e instanceof Error ? e.message : String(e)}`);
    }
  const free = await shell.run(S.waitVolumeFree(options.volume, pg, 120), { timeoutMs: 180_000 });
  if (free.code !== 0) {
    const problem = `${free.stderr.trim()}: ${pg} is NOT started (two servers on one data folder corrupt it)`;
    log(`undo: PROBLEM: ${problem}`);
    log(
      `the undo did not finish: stop that container, then run npm run switch-platform -- --stack ${options.stackName} --undo`,
    );
    return { outcome: "undo-failed", reason, problems: [...problems, problem] };
  }
  if (state.stateMoved) {
    try {
      await deps.importState(await savedState(run));
      state.stateMoved = false;
      await journal.write(state);
      log(`state: put back as it was before the switch (${state.stateFile})`);
    } catch (e) {
      problems.push(`the saved state could not be imported: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  await deps
    .allowSwitch(false)
    .catch((e: unknown) => problems.push(`ems-infra:platformSwitch could not be removed: ${String(e)}`));

  const restored: string[] = [];
  for (const name of stopOrder(options.containers)
    .reverse()
    .filter((n) => n in state.policies)) {
    const r = await shell.run(C.start(name, state.policies[name]));
    if (r.code !== 0) {
      problems.push(`docker start ${name}: ${r.stderr.trim()}`);
      continue;
    }
    if (name === pg) {
      const ready = await shell.run(C.waitPostgres(name, options.postgresUser, 60), { timeoutMs: 90_000 });
      if (ready.code !== 0) problems.push(`${name} started but does not accept connections`);
    }
    restored.push(name);
    log(`started ${name} again (restart policy ${state.policies[name]})`);
  }
  if (problems.length > 0) {
    for (const p of problems) log(`undo: PROBLEM: ${p}`);
    log(
      `the undo did not finish: fix the problems above, then run npm run switch-platform -- --stack ${options.stackName} --undo (the journal ${journal.file} is kept)`,
    );
    return { outcome: "undo-failed", reason, problems };
  }
  await new HostFile(shell, state.stateFile).remove();
  await journal.remove();
  log(
    `undone: the one-engine system runs again (${restored.join(", ")}); ems-infra:platform still says swarm in the stack's config: ` +
      `npm run deploy refuses until the switch is run again or the key is set back to docker; the dump stays in ${options.backupDir}`,
  );
  return { outcome: "rolled-back", reason, restored };
}

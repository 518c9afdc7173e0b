/**
 * The undo of a cut-over (a failure, an interruption, or `--undo` after a killed run): stops this system's new
 * containers (the stack's outputs and `com.ems.system=<system>`, never another system's), starts the old ones with
 * the restart policies the journal kept (Postgres first, only once no other server holds its data volume), gives the
 * old roles their old passwords back, then watches the old APIs: running, not restarting, logged into PostgreSQL with
 * their own credentials. It says what it saw; the journal is removed only when all of that holds.
 */
import { CUTOVER_COMMANDS as C } from "../hostCommands/cutover";
import { readLegacyCredentials, restorePasswordsSql } from "./credentials";
import type { CutoverResult, CutoverRun } from "./types";
import { sessionsOf } from "./database";
import { startOrder, stopOrder } from "./legacy";

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** `true false 3` → its fields. */
function parseRunState(text: string): { running: boolean; restarting: boolean; restarts: number } {
  const [running, restarting, restarts] = text.trim().split(/\s+/);
  return { running: running === "true", restarting: restarting === "true", restarts: Number(restarts) || 0 };
}

export async function undo(run: CutoverRun, reason: string): Promise<CutoverResult> {
  const { deps, options, state, journal } = run;
  const { shell, log } = deps;
  const legacy = options.legacy;
  const old = new Set(stopOrder(legacy));
  log(options.undo ? `undo: ${reason}` : `FAILED: ${reason}`);
  if (state.stoppedAt === undefined) {
    // Nothing of the old system was stopped yet (the backup or the first uploads copy failed): it still serves.
    await journal.remove();
    log("nothing was stopped: the old system still serves");
    return { outcome: "refused", problems: [reason] };
  }
  log("undoing: stopping this system's new containers and starting the old system again");
  state.step = "undo";
  await journal.write(state);
  const problems: string[] = [];

  const fromOutputs = await deps.outputs().catch((e: unknown) => {
    log(
      `undo: no stack outputs (${e instanceof Error ? e.message : String(e)}): finding the new containers by their label com.ems.system=${options.system}`,
    );
    return undefined;
  });
  const ours = new Set(fromOutputs?.containers ?? []);
  for (const name of lines((await shell.run(C.withLabel(`com.ems.system=${options.system}`))).stdout)) ours.add(name);
  const pgLast = fromOutputs?.postgresContainer;
  const toStop = [...ours].filter((n) => !old.has(n)).sort((a, b) => Number(a === pgLast) - Number(b === pgLast));
  for (const name of toStop) {
    const r = await shell.run(C.stopNew(name), { timeoutMs: 120_000 });
    if (r.code === 0) log(`stopped new ${name}`);
    else if (!/No such container/i.test(r.stderr)) problems.push(`docker stop ${name}: ${r.stderr.trim()}`);
  }

  const holders = lines((await shell.run(C.usingVolume(legacy.dataVolume))).stdout).filter(
    (n) => n !== legacy.postgresContainer,
  );
  if (holders.length > 0) {
    const problem =
      `${holders.join(", ")} still run${holders.length === 1 ? "s" : ""} on ${legacy.dataVolume} and ` +
      `${holders.length === 1 ? "is" : "are"} not this system's: the old Postgres is NOT started (two servers on one data folder corrupt it)`;
    log(`undo: PROBLEM: ${problem}`);
    log("the undo did not finish: stop that container, then run `npm run migrate -- --undo` again");
    return { outcome: "undo-failed", reason, problems: [...problems, problem] };
  }
  for (const port of [80, 443]) {
    const others = lines((await shell.run(C.publishing(port))).stdout).filter((n) => !old.has(n));
    if (others.length > 0)
      problems.push(
        `${others.join(", ")} publish${others.length === 1 ? "es" : ""} port ${port} and ${others.length === 1 ? "is" : "are"} not this system's: the old Traefik cannot take it`,
      );
  }

  const restored: string[] = [];
  const restartsAtStart = new Map<string, number>();
  const credentials = await readLegacyCredentials(shell, legacy);
  for (const name of startOrder(legacy).filter((n) => n in state.policies)) {
    const r = await shell.run(C.start(name, state.policies[name]));
    if (r.code !== 0) {
      problems.push(`docker start ${name}: ${r.stderr.trim()}`);
      continue;
    }
    if (name === legacy.postgresContainer) {
      const ready = await shell.run(C.waitPostgres(name, legacy.postgresSuperuser, 60), { timeoutMs: 90_000 });
      if (ready.code !== 0) problems.push(`${name} started but does not accept connections`);
      // The old roles' old passwords, whatever happened to them since: the old APIs log in with these.
      const sql = restorePasswordsSql(credentials.apis);
      const pw = await shell.run(C.psqlStdin(name, legacy.postgresSuperuser), { input: sql });
      if (pw.code !== 0) problems.push(`the old roles' passwords could not be put back: ${pw.stderr.trim()}`);
      else log(`old passwords of ${credentials.apis.map((a) => a.dbUser).join(", ")} in place`);
    }
    if (legacy.apiContainers.includes(name))
      restartsAtStart.set(name, parseRunState((await shell.run(C.runState(name))).stdout).restarts);
    restored.push(name);
    log(`started old ${name} (restart policy ${state.policies[name]})`);
  }

  // The proof: the old APIs keep running without a restart and hold their PostgreSQL session.
  if (restartsAtStart.size > 0) {
    await deps.sleep(options.settleMs);
    const sessions = sessionsOf(
      (await shell.run(C.sessions(legacy.postgresContainer, legacy.postgresSuperuser))).stdout,
    );
    for (const [name, restarts] of restartsAtStart) {
      const now = parseRunState((await shell.run(C.runState(name))).stdout);
      const creds = credentials.apis.find((a) => a.container === name);
      const loggedIn = creds ? sessions.has(`${creds.dbUser} ${creds.dbName}`) : false;
      const seen = `${now.running ? "running" : "NOT running"}${now.restarting ? ", restarting" : ""}, ${now.restarts - restarts} restarts in ${options.settleMs / 1000} s, ${
        loggedIn ? `logged into PostgreSQL as ${creds?.dbUser} on ${creds?.dbName}` : "NOT logged into PostgreSQL"
      }`;
      log(`undo: ${name}: ${seen}`);
      if (!now.running || now.restarting || now.restarts !== restarts || !loggedIn) problems.push(`${name}: ${seen}`);
    }
  }

  if (problems.length > 0) {
    for (const p of problems) log(`undo: PROBLEM: ${p}`);
    log(
      `the undo did not finish: fix the problems above, then run \`npm run migrate -- --undo\` again (the journal ${journal.file} is kept)`,
    );
    return { outcome: "undo-failed", reason, problems };
  }
  await journal.remove();
  log(
    `undone: the old compose system runs again (${restored.join(", ") || "nothing had been stopped"}); the backup stays in ${options.backupDir}`,
  );
  return { outcome: "rolled-back", reason, restored };
}

/**
 * Checks made before the cut-over (or a deploy) changes anything on the host:
 *  (a) the configured Traefik can talk to this Docker engine (provider-facts.md B2; ops/engineVerdicts.ts);
 *  (b) the backups folder has room for a dump of every database (×2 margin);
 *  (c) which containers of today's compose system exist and run, found by their real names;
 *  plus the old backup cron line. Pure parsers and verdicts, and one runner over a {@link BoundShell}.
 */
import { PREFLIGHT_COMMANDS } from "./hostCommands/preflight";
import type { BoundShell } from "./runner/hostShell";
import { LegacySystem, stopOrder } from "./migrate/legacy";

// --- (a) Traefik ↔ Docker: ops/engineVerdicts.ts (the deploy path uses them without this file's migration code)

export { engineArchVerdict, parseEngineVersion, traefikDockerVerdict, Verdict } from "./engineVerdicts";
import { engineArchVerdict, parseEngineVersion, traefikDockerVerdict, Verdict } from "./engineVerdicts";

// --- (b) disk space -------------------------------------------------------------------------------------

/** Available bytes from `df -Pk DIR` (POSIX format: a header, then one line whose 4th field is free 1K blocks). */
export function parseDfAvailable(output: string): number {
  const lines = output
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  const fields = lines[lines.length - 1]?.trim().split(/\s+/) ?? [];
  if (lines.length < 2 || !/^\d+$/.test(fields[3] ?? ""))
    throw new Error(`cannot read the free space from df: ${JSON.stringify(output.trim())}`);
  return Number(fields[3]) * 1024;
}

/** The sum of `pg_database_size` printed by psql -At (one number). */
export function parseDatabaseBytes(output: string): number {
  const text = output.trim();
  if (!/^\d+$/.test(text)) throw new Error(`cannot read the database size from ${JSON.stringify(text)}`);
  return Number(text);
}

/** Room for a dump: twice the databases' size must be free (a plain dump can be larger than the files). */
export function diskVerdict(availableBytes: number, databaseBytes: number, dir: string): Verdict {
  const need = databaseBytes * 2;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return availableBytes >= need
    ? { ok: true, message: `${dir}: ${mb(availableBytes)} free for a dump of ${mb(databaseBytes)} of databases` }
    : {
        ok: false,
        message: `${dir}: only ${mb(availableBytes)} free, the dump needs ${mb(need)} (twice the ${mb(databaseBytes)} of databases): free some space first`,
      };
}

// --- (c) the old containers -----------------------------------------------------------------------------

export interface ContainerState {
  name: string;
  present: boolean;
  running: boolean;
}

/** `docker ps -a --format '{{.Names}}\t{{.State}}'` → name → state. */
export function parseContainerList(output: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of output.split("\n")) {
    const [names, state] = line.split("\t");
    if (!names || state === undefined) continue;
    for (const name of names.split(",")) states.set(name.trim(), state.trim());
  }
  return states;
}

/** The state of each wanted container, matched by its exact name. */
export function containerStates(listed: Map<string, string>, names: readonly string[]): ContainerState[] {
  return names.map((name) => ({ name, present: listed.has(name), running: listed.get(name) === "running" }));
}

function describeContainers(states: readonly ContainerState[]): string {
  return states.map((s) => `${s.name}: ${s.running ? "running" : s.present ? "stopped" : "absent"}`).join(", ");
}

// --- the old cron line ----------------------------------------------------------------------------------

/** The stack's own backup job carries this marker (components/backup.ts): never the old job. */
const OWN_JOB_MARKER = "# ems-infra:";

/** The active crontab lines of the old backup job (commented lines and the stack's own job are ignored). */
export function oldCronLines(crontab: string, markers: readonly string[]): string[] {
  return crontab.split("\n").filter((line) => {
    const text = line.trim();
    return (
      text !== "" && !text.startsWith("#") && !text.includes(OWN_JOB_MARKER) && markers.some((m) => text.includes(m))
    );
  });
}

/** The crontab without those lines. */
export function withoutLines(crontab: string, lines: readonly string[]): string {
  const drop = new Set(lines);
  return crontab
    .split("\n")
    .filter((line) => !drop.has(line))
    .join("\n");
}

// --- the runner -----------------------------------------------------------------------------------------

export interface PreflightInput {
  traefikImage: string;
  /** Where the dump will be written. */
  backupDir: string;
  legacy: LegacySystem;
}

export interface PreflightReport {
  /** False when something must be fixed before the cut-over. */
  ok: boolean;
  /** Why it is not ok (each names what to fix). */
  problems: string[];
  /** What was found, for the operator. */
  notes: string[];
  containers: ContainerState[];
  /** The old cron lines found. */
  cronLines: string[];
  /** The crontab as read (empty when there is none). */
  crontab: string;
}

export async function runPreflight(shell: BoundShell, input: PreflightInput): Promise<PreflightReport> {
  const problems: string[] = [];
  const notes: string[] = [];
  const must = async (command: string, what: string) => {
    const r = await shell.run(command, { timeoutMs: 60_000 });
    if (r.code !== 0)
      throw new Error(`${what} failed on ${shell.where} (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };

  const engine = parseEngineVersion(await must(PREFLIGHT_COMMANDS.engine, "docker version"));
  const traefik = traefikDockerVerdict(input.traefikImage, engine);
  (traefik.ok ? notes : problems).push(traefik.message);
  const arch = engineArchVerdict(engine);
  if (!arch.ok) problems.push(arch.message);

  const containers = containerStates(
    parseContainerList(await must(PREFLIGHT_COMMANDS.containers, "docker ps")),
    stopOrder(input.legacy),
  );
  notes.push(`old containers: ${describeContainers(containers)}`);

  const pg = containers.find((c) => c.name === input.legacy.postgresContainer);
  if (pg?.running) {
    const bytes = parseDatabaseBytes(
      await must(PREFLIGHT_COMMANDS.databaseBytes(pg.name, input.legacy.postgresSuperuser), "the database size query"),
    );
    const disk = diskVerdict(
      parseDfAvailable(await must(PREFLIGHT_COMMANDS.df(input.backupDir), "df")),
      bytes,
      input.backupDir,
    );
    (disk.ok ? notes : problems).push(disk.message);
  }

  const crontab = await must(PREFLIGHT_COMMANDS.crontab, "crontab -l");
  const cronLines = oldCronLines(crontab, input.legacy.cronMarkers);
  if (cronLines.length > 0)
    notes.push(`old backup cron line(s): ${cronLines.map((l) => JSON.stringify(l)).join(", ")}`);

  return { ok: problems.length === 0, problems, notes, containers, cronLines, crontab };
}

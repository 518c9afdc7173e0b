/**
 * The cut-over's journal on the host (mode 600): written before the first change and at every step, so a run
 * that was killed (kill -9, a closed SSH session, a reboot) can be resumed or undone by the next one. It holds
 * names, restart policies and the step reached, never a credential.
 */
import * as path from "path";
import { CUTOVER_COMMANDS as C } from "../hostCommands/cutover";
import type { BoundShell } from "../runner/hostShell";

/** The steps, in order; the journal names the last one entered. */
export const STEPS = ["backup", "copy-uploads", "stop", "up", "gate", "undo"] as const;
export type Step = (typeof STEPS)[number];

export interface Journal {
  version: 1;
  /** ISO time the cut-over started. */
  startedAt: string;
  step: Step;
  /** The old containers running when it started, with their restart policy then (what the undo puts back). */
  policies: Record<string, string>;
  /** The backup files written (the dump, the ACME copy). */
  backup: string[];
  /** When the old Traefik was stopped (ms since the epoch): the start of the downtime. */
  stoppedAt?: number;
  /** `database.schema.table` → rows, read from the old server once its APIs were down. */
  rows?: Record<string, number>;
}

/** The journal's file: in the secrets folder when the stack has one, else in the backups folder. */
export function journalPath(dir: string): string {
  return path.posix.join(dir, "cutover-journal.json");
}

function parseJournal(text: string): Journal | undefined {
  if (text.trim() === "") return undefined;
  const j = JSON.parse(text) as Partial<Journal>;
  if (j.version !== 1 || !j.step || !(STEPS as readonly string[]).includes(j.step) || typeof j.policies !== "object")
    throw new Error(`the cut-over journal is not one this version wrote: ${text.slice(0, 120)}`);
  return { backup: [], ...j } as Journal;
}

export class JournalFile {
  constructor(
    private readonly shell: BoundShell,
    readonly file: string,
  ) {}

  async read(): Promise<Journal | undefined> {
    const r = await this.shell.run(C.readJournal(this.file));
    if (r.code !== 0) throw new Error(`cannot read ${this.file}: ${r.stderr.trim()}`);
    return parseJournal(r.stdout);
  }

  async write(journal: Journal): Promise<void> {
    const r = await this.shell.run(C.writeJournal(this.file), { input: `${JSON.stringify(journal, null, 2)}\n` });
    if (r.code !== 0) throw new Error(`cannot write the cut-over journal ${this.file}: ${r.stderr.trim()}`);
  }

  async remove(): Promise<void> {
    await this.shell.run(C.removeJournal(this.file));
  }
}

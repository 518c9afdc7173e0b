/**
 * The switch's journal on the host (mode 600), written before the first change and at every step, so that a run
 * that was killed (kill -9, a closed SSH session, a reboot) is resumed or undone by the next one. It holds names,
 * restart policies, file names and the step reached, never a credential.
 */
import * as path from "path";
import { PLATFORM_SWITCH_COMMANDS as S } from "../hostCommands/platformSwitch";
import type { BoundShell } from "../runner/hostShell";

/** The steps, in order; the journal names the last one entered. */
export const SWITCH_STEPS = ["backup", "stop", "state", "up", "gate", "undo"] as const;
export type SwitchStep = (typeof SWITCH_STEPS)[number];

export interface SwitchJournal {
  version: 1;
  /** ISO time the switch started. */
  startedAt: string;
  step: SwitchStep;
  /** The old containers running when it started, in stop order, with their restart policy then. */
  policies: Record<string, string>;
  /** The old containers by role and their data volume, as the one-engine stack's outputs named them. */
  containers: { traefik?: string; postgres: string; portainer?: string; apis: string[] };
  volume: string;
  /** The verified dump. */
  backup: string[];
  /** The stack's state as it was before the switch (`pulumi stack export`), on the host: the undo imports it. */
  stateFile: string;
  /** Set once the old platform's containers, networks and volumes were taken out of the state. */
  stateMoved?: boolean;
  /** The step the switch had reached when its undo began. */
  reached?: SwitchStep;
  /** When the old Traefik was stopped (ms since the epoch): the start of the downtime. */
  stoppedAt?: number;
}

function switchJournalPath(dir: string): string {
  return path.posix.join(dir, "platform-switch-journal.json");
}

export function switchStatePath(dir: string): string {
  return path.posix.join(dir, "platform-switch-state.json");
}

function parseSwitchJournal(text: string): SwitchJournal | undefined {
  if (text.trim() === "") return undefined;
  const j = JSON.parse(text) as Partial<SwitchJournal>;
  if (
    j.version !== 1 ||
    !j.step ||
    !(SWITCH_STEPS as readonly string[]).includes(j.step) ||
    typeof j.policies !== "object" ||
    typeof j.stateFile !== "string" ||
    typeof j.containers?.postgres !== "string" ||
    typeof j.volume !== "string"
  )
    throw new Error(`the platform switch journal is not one this version wrote: ${text.slice(0, 120)}`);
  return { backup: [], ...j } as SwitchJournal;
}

/** A private file on the host (the journal, the saved state). */
export class HostFile {
  constructor(
    private readonly shell: BoundShell,
    readonly file: string,
  ) {}

  async read(): Promise<string> {
    const r = await this.shell.run(S.read(this.file));
    if (r.code !== 0) throw new Error(`cannot read ${this.file}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  async write(text: string): Promise<void> {
    const r = await this.shell.run(S.writePrivate(this.file), { input: text, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`cannot write ${this.file}: ${r.stderr.trim()}`);
  }

  async remove(): Promise<void> {
    await this.shell.run(S.remove(this.file));
  }
}

export class SwitchJournalFile {
  private readonly host: HostFile;
  constructor(shell: BoundShell, dir: string) {
    this.host = new HostFile(shell, switchJournalPath(dir));
  }

  get file(): string {
    return this.host.file;
  }

  async read(): Promise<SwitchJournal | undefined> {
    return parseSwitchJournal(await this.host.read());
  }

  async write(journal: SwitchJournal): Promise<void> {
    await this.host.write(`${JSON.stringify(journal, null, 2)}\n`);
  }

  async remove(): Promise<void> {
    await this.host.remove();
  }
}

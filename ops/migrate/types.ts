/** The cut-over's types, shared by its steps (cutover.ts) and its undo (undo.ts). */
import type { BoundShell } from "../runner/hostShell";
import type { GateOptions, GateTarget } from "../healthGate";
import type { PreflightReport } from "../preflight";
import type { CredentialMismatch, StackCredentials } from "./credentials";
import type { HostCheckInput } from "./hostChecks";
import type { Journal, JournalFile, Step } from "./journal";
import type { LegacySystem } from "./legacy";

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
  /** Writes the old system's credentials into the stack's config as secrets (`--adopt-credentials`). */
  adoptCredentials?(mismatches: CredentialMismatch[]): Promise<void>;
  /** Why the cut-over must stop now (SIGINT, SIGTERM, SIGHUP), checked at every step; undefined to go on. */
  interrupted?(): string | undefined;
  /** Awaited as each step starts, after the journal names it (the tests kill the run there). */
  checkpoint?(step: Step): Promise<void>;
}

export interface CutoverOptions {
  legacy: LegacySystem;
  traefikImage: string;
  /** Where the safety dump and the ACME copy go: outside the old backup job's folder (its retention deletes *.sql.gz). */
  backupDir: string;
  /** Where the journal lives (the stack's secrets folder, else its backups folder). */
  journalDir: string;
  /** This system's `com.ems.system` label value: the undo stops only containers carrying it (or in the outputs). */
  system: string;
  /** The stack's name, for the commands the messages print. */
  stackName: string;
  /** What the stack will use, from its config. */
  credentials: StackCredentials;
  /** Take the old system's credentials over into the stack's config instead of refusing. */
  adoptCredentials: boolean;
  /** Host folder of each service's uploads (the stack mounts it). */
  uploads: { service: string; dest: string }[];
  gate: GateOptions;
  /** Only check and print the plan. */
  dryRun: boolean;
  /** Undo an interrupted cut-over (found by its journal). */
  undo: boolean;
  /** `docker stop -t` for the old Traefik, Portainer and Postgres (the APIs are killed). */
  stopSeconds: number;
  /** How long the undo watches the old APIs before it says they run. */
  settleMs: number;
  /** Portainer's version, the routed host names and IPv6 (hostChecks.ts); absent skips them. */
  hostChecks?: HostCheckInput;
}

export type CutoverResult =
  | { outcome: "refused"; problems: string[] }
  | { outcome: "nothing-to-migrate" }
  | { outcome: "nothing-to-undo" }
  | { outcome: "planned" }
  | { outcome: "cancelled" }
  | { outcome: "migrated"; downtimeSeconds: number; backup: string[] }
  | { outcome: "rolled-back"; reason: string; restored: string[] }
  | { outcome: "undo-failed"; reason: string; problems: string[] };

/** What a run carries from step to step (and what the journal keeps of it). */
export interface CutoverRun {
  deps: CutoverDeps;
  options: CutoverOptions;
  journal: JournalFile;
  state: Journal;
  report?: PreflightReport;
}

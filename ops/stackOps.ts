/**
 * Shared runtime of the ops CLIs: terminal I/O, opening a stack through the Automation API
 * (imported lazily, so `--help` and argument errors work without the Pulumi CLI), and formatting.
 */
import * as fs from "fs";
import * as path from "path";
import type { ConfigValue, OpMap, PreviewOptions, PreviewResult, UpdateSummary, UpOptions, UpResult } from "@pulumi/pulumi/automation";
import { CommandSpec, formatHelp, UsageError, usageHint } from "./args";
import { ensureLocalBackend } from "./backend";

/** The repository root: where Pulumi.yaml and the stack files live. */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** The subset of Automation API's `Stack` the CLIs use (a real `Stack` satisfies it; tests pass fakes). */
export interface StackLike {
  readonly name: string;
  getConfig(key: string, path?: boolean): Promise<ConfigValue>;
  setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void>;
  removeConfig(key: string, path?: boolean): Promise<void>;
  preview(opts?: PreviewOptions): Promise<PreviewResult>;
  up(opts?: UpOptions): Promise<UpResult>;
  history(pageSize?: number, page?: number, showSecrets?: boolean): Promise<UpdateSummary[]>;
}

export interface Io {
  /** Writes text as-is to stdout (Pulumi's streamed output has its own newlines). */
  out(text: string): void;
  err(text: string): void;
  /** True when a human can answer a prompt (stdin and stdout are terminals). */
  isTTY: boolean;
  /** Asks a question on the terminal and resolves with the answer. */
  prompt(question: string): Promise<string>;
}

export interface Deps {
  /** `create: true` → createOrSelectStack (deploy); false → selectStack (rollback, drift). */
  openStack(stackName: string, workDir: string, create: boolean): Promise<StackLike>;
  repoRoot: string;
  exists(p: string): boolean;
}

export const defaultDeps: Deps = {
  async openStack(stackName, workDir, create) {
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    ensureLocalBackend(workDir);
    const args = { stackName, workDir };
    return create ? LocalWorkspace.createOrSelectStack(args) : LocalWorkspace.selectStack(args);
  },
  repoRoot: REPO_ROOT,
  exists: (p) => fs.existsSync(p),
};

export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    async prompt(question) {
      const readline = await import("readline/promises");
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/** The local policy pack (`policy/PulumiPolicy.yaml`), when there is one. */
export function policyPacks(deps: Pick<Deps, "repoRoot" | "exists">): string[] | undefined {
  const dir = path.join(deps.repoRoot, "policy");
  return deps.exists(path.join(dir, "PulumiPolicy.yaml")) ? [dir] : undefined;
}

/** Resolves true only on an explicit yes. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  const answer = (await io.prompt(`${question} [y/N] `)).trim().toLowerCase();
  return answer === "y" || answer === "yes";
}

const OP_LABELS: Array<[keyof OpMap, string]> = [
  ["create", "created"],
  ["update", "updated"],
  ["replace", "replaced"],
  ["delete", "deleted"],
  ["import", "imported"],
  ["same", "unchanged"],
];

/** `2 updated, 1 replaced, 14 unchanged` from a resourceChanges / changeSummary map. */
export function formatResourceChanges(changes: OpMap | Record<string, number | undefined> | undefined): string {
  const map = (changes ?? {}) as Record<string, number | undefined>;
  const parts = OP_LABELS.filter(([op]) => (map[op] ?? 0) > 0).map(([op, label]) => `${map[op]} ${label}`);
  return parts.length ? parts.join(", ") : "no resources";
}

/** True when a preview proposes anything other than leaving resources as they are. */
export function hasChanges(changes: OpMap | undefined): boolean {
  return Object.entries(changes ?? {}).some(([op, n]) => op !== "same" && (n ?? 0) > 0);
}

/**
 * `pulumi config set --path` stores `true`/`false` as booleans and integer-looking values as numbers,
 * which the program's schema rejects for versions and image references.
 */
export function assertStoredAsString(key: string, value: string): void {
  const integer = /^[+-]?[0-9]+$/.test(value) && !(value.length > 1 && value.startsWith("0"));
  if (integer || value === "true" || value === "false") {
    throw new Error(
      `${key}: "${value}" would be stored as a ${integer ? "number" : "boolean"} by \`pulumi config set --path\`, ` +
        `and the program expects a string: use a tag with a dot or a letter in it`,
    );
  }
}

/** A friendlier message for the common operational failures. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ENOENT: pulumi|spawn pulumi ENOENT/.test(message)) {
    return "the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/) and run `pulumi login` first";
  }
  if (/PULUMI_CONFIG_PASSPHRASE/.test(message) && /unable to find|must be set|incorrect passphrase/i.test(message)) {
    return `${message.trim()}\n(export PULUMI_CONFIG_PASSPHRASE with the stack's passphrase: it encrypts the stack's secrets)`;
  }
  if (error instanceof Error && error.name === "StackNotFoundError") return `${message.trim()}\n(does the stack exist? \`pulumi stack ls\`)`;
  if (error instanceof Error && error.name === "ConcurrentUpdateError") return `another update is running on this stack: wait for it to finish, then retry\n${message.trim()}`;
  return message.trim();
}

export type ParseOutcome<T> = { kind: "run"; options: T } | { kind: "exit"; code: number };

/** Runs a parser; prints help (exit 0) or the usage error (exit 2). */
export function handleArgs<T>(spec: CommandSpec, io: Io, parse: () => { help: true } | { help: false; options: T }): ParseOutcome<T> {
  try {
    const parsed = parse();
    if (parsed.help) {
      io.out(formatHelp(spec));
      return { kind: "exit", code: 0 };
    }
    return { kind: "run", options: parsed.options };
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n${usageHint(spec)}\n`);
      return { kind: "exit", code: error.exitCode };
    }
    throw error;
  }
}

/**
 * Entry point for `if (require.main === module)`: runs main with the process' argv and I/O.
 * A first Ctrl-C is left to the Pulumi CLI (it stops gracefully and the CLI then restores config);
 * a second one exits at once.
 */
export function runCli(main: (argv: string[], io: Io) => Promise<number>): void {
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write("\ninterrupted: waiting for pulumi to stop (Ctrl-C again to quit at once)\n");
  };
  process.on("SIGINT", onInterrupt);
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      process.off("SIGINT", onInterrupt);
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${describeError(error)}\n`);
      process.exitCode = 1;
    },
  );
}

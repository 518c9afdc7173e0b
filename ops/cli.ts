/** Terminal I/O and the command-line plumbing every ops CLI shares (help, usage errors, exit codes, Ctrl-C). */
import { CommandSpec, formatHelp, UsageError, usageHint } from "./args";

export interface Io {
  /** Writes text as-is to stdout (Pulumi's streamed output has its own newlines). */
  out(text: string): void;
  /** Writes text as-is to stderr. */
  err(text: string): void;
  /** True when a human can answer a prompt (stdin and stdout are terminals). */
  isTTY: boolean;
  /** Asks a question on the terminal and resolves with the answer. */
  prompt(question: string): Promise<string>;
}

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

/** Resolves true only on an explicit yes. */
export async function confirm(io: Io, question: string): Promise<boolean> {
  const answer = (await io.prompt(`${question} [y/N] `)).trim().toLowerCase();
  return answer === "y" || answer === "yes";
}

/** A friendlier message for the common operational failures. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ENOENT: pulumi|spawn pulumi ENOENT/.test(message)) {
    // The backend is a local folder (Pulumi.yaml) or PULUMI_BACKEND_URL: no `pulumi login` is needed.
    return "the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/), then re-run this command";
  }
  if (/PULUMI_CONFIG_PASSPHRASE/.test(message) && /unable to find|must be set|incorrect passphrase/i.test(message)) {
    return `${message.trim()}\n(export PULUMI_CONFIG_PASSPHRASE with the stack's passphrase: it encrypts the stack's secrets)`;
  }
  if (error instanceof Error && error.name === "StackNotFoundError")
    return `${message.trim()}\n(does the stack exist? \`pulumi stack ls\`)`;
  if (error instanceof Error && error.name === "ConcurrentUpdateError") {
    return (
      `another update is running on this stack: wait for it to finish, then retry; if none is running (a killed run ` +
      `left the lock), clear it with \`pulumi cancel --stack <name>\`\n${message.trim()}`
    );
  }
  return message.trim();
}

export type ParseOutcome<T> = { kind: "run"; options: T } | { kind: "exit"; code: number };

/** Runs a parser; prints help (exit 0) or the usage error (exit 2). */
export function handleArgs<T>(
  spec: CommandSpec,
  io: Io,
  parse: () => { help: true } | { help: false; options: T },
): ParseOutcome<T> {
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

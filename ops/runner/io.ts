/** Terminal I/O every command shares, and the one-line account of an error. */

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

export const MISSING_PULUMI =
  "the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/), then re-run this command";

/** A friendlier message for the common operational failures. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ENOENT: pulumi|spawn pulumi ENOENT/.test(message)) {
    // The backend is a local folder (Pulumi.yaml) or PULUMI_BACKEND_URL: no `pulumi login` is needed.
    return MISSING_PULUMI;
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

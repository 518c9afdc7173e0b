/**
 * The one way the cut-over reaches the host: every command is a POSIX shell string run by `sh -c` here or
 * by `ssh` on the VPS. Values are quoted with {@link q}.
 */
import { spawn } from "child_process";
import { shellQuote } from "../../components/shell";

export interface ShellResult {
  /** Exit status (124 when the time limit killed it). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface HostShell {
  /** Where the commands run: "local" or user@host:port (shown in messages). */
  readonly where: string;
  /**
   * Runs one shell command to completion, bounded by `timeoutMs` (default 120 s), with `input` on its stdin
   * (how secrets reach a command: never in its arguments); never rejects on a non-zero status.
   */
  run(command: string, options?: { timeoutMs?: number; input?: string }): Promise<ShellResult>;
}

/** Quotes one value for the shell (every value reaching a host command goes through this). */
export const q = shellQuote;

/** `sh -c COMMAND`, or `ssh -p PORT -o BatchMode=yes user@host COMMAND` for commandHost user@host:port. */
export function invocation(commandHost: string, command: string): { file: string; args: string[] } {
  if (commandHost === "local") return { file: "sh", args: ["-c", command] };
  const match = /^([^@\s]+)@([^:\s]+):(\d+)$/.exec(commandHost);
  if (!match) throw new Error(`command host "${commandHost}" is not "local" nor user@host:port`);
  const [, user, host, port] = match;
  return { file: "ssh", args: ["-p", port, "-o", "BatchMode=yes", `${user}@${host}`, command] };
}

/** A HostShell over `sh -c` (commandHost "local") or `ssh -p PORT user@host` (commandHost user@host:port). */
export function hostShell(commandHost: string): HostShell {
  return {
    where: commandHost,
    run(command, options = {}) {
      const { file, args } = invocation(commandHost, command);
      return new Promise((resolve, reject) => {
        const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, options.timeoutMs ?? 120_000);
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        child.stdin.on("error", () => undefined); // a command that does not read its stdin
        child.stdin.end(options.input ?? "");
        child.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr: timedOut ? `${stderr}timed out\n` : stderr });
        });
      });
    },
  };
}

/**
 * The one way the ops commands reach the stack's host: `sh -c` on this machine, or the system's `ssh` with the
 * very options the program's host commands and Docker provider use (components/hostCommand.ts `sshOptions`:
 * the stack's key, its known_hosts verified, batch mode).
 */
import { spawn } from "child_process";
import { describeConnection, HostConnection, sshOptions } from "../../components/hostCommand";

/** Where host commands run: this machine, or the host of the stack's `ems-infra:ssh`. */
export type HostTarget = "local" | HostConnection;

/** `local`, or `user@host:port` (an IPv6 address in brackets), for messages. */
export function describeHost(target: HostTarget): string {
  if (target === "local") return "local";
  return describeConnection(target);
}

/** `sh -c COMMAND`, or `ssh [-t] <sshOptions> -- user@host COMMAND`. `tty` asks ssh for a terminal (`docker exec -it`). */
export function hostInvocation(
  target: HostTarget,
  command: string,
  options: { tty?: boolean } = {},
): { file: string; args: string[] } {
  if (target === "local") return { file: "sh", args: ["-c", command] };
  return {
    file: "ssh",
    args: [...(options.tty ? ["-t"] : []), ...sshOptions(target), "--", `${target.user}@${target.host}`, command],
  };
}

/** Runs a command on the host with the terminal attached (output streams as it comes); resolves with its exit code. */
export function runOnHost(target: HostTarget, command: string, options: { tty?: boolean } = {}): Promise<number> {
  const { file, args } = hostInvocation(target, command, options);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** What a captured host command printed. */
export interface Captured {
  /** Exit status (124 when the time limit killed it). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CaptureOptions {
  /** Killed after this long (default 60 s); the result then has code 124 and says "timed out". */
  timeoutMs?: number;
  /** Fed to the command's stdin (how secrets reach a command: never in its arguments). */
  input?: string;
}

/** Runs a command on the host and captures its output; never rejects on a non-zero status. */
export function captureOnHost(target: HostTarget, command: string, options: CaptureOptions = {}): Promise<Captured> {
  const { file, args } = hostInvocation(target, command);
  return new Promise((resolve, reject) => {
    // Its own process group, so that the time limit also kills what `sh -c` started (a `sleep` would keep the pipes open).
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, options.timeoutMs ?? 60_000);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.stdin.on("error", () => undefined); // a command that does not read its stdin
    child.stdin.end(options.input ?? "");
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr: timedOut ? `${stderr}timed out\n` : stderr });
    });
  });
}

/** A shell on the stack's host (tests pass fakes). */
export interface HostShell {
  /** Streams the command's output to the terminal; resolves with its exit code. */
  run(target: HostTarget, command: string, options?: { tty?: boolean }): Promise<number>;
  /** Captures the command's output. */
  capture(target: HostTarget, command: string, options?: CaptureOptions): Promise<Captured>;
}

export const defaultHostShell: HostShell = { run: runOnHost, capture: captureOnHost };

/** A shell bound to one host, for the steps that run many captured commands there (the cut-over, its pre-flight). */
export interface BoundShell {
  /** Where the commands run, for messages: `local` or user@host:port. */
  readonly where: string;
  /** Runs one command to completion (see {@link captureOnHost}); never rejects on a non-zero status. */
  run(command: string, options?: CaptureOptions): Promise<Captured>;
}

export function boundShell(target: HostTarget, host: HostShell = defaultHostShell): BoundShell {
  return { where: describeHost(target), run: (command, options) => host.capture(target, command, options) };
}

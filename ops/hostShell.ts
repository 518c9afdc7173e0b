import { spawn } from "child_process";
import { ensureLocalBackend } from "./backend";

/**
 * How a command reaches the host: `sh -c` here, or `ssh` to the stack's `commandHost` (user@host:port).
 * `tty` asks ssh for a terminal (`docker exec -it` over SSH needs one).
 */
export function hostInvocation(commandHost: string, command: string, options: { tty?: boolean } = {}): { file: string; args: string[] } {
  if (commandHost === "local") return { file: "sh", args: ["-c", command] };
  const match = /^([^@\s]+)@([^:\s]+):(\d+)$/.exec(commandHost);
  if (!match) throw new Error(`stack output commandHost "${commandHost}" is not "local" nor user@host:port`);
  const [, user, host, port] = match;
  return { file: "ssh", args: [...(options.tty ? ["-t"] : []), "-p", port, "-o", "BatchMode=yes", `${user}@${host}`, command] };
}

/** Runs a command on the host with the terminal attached (output streams as it comes); resolves with its exit code. */
export function runOnHost(commandHost: string, command: string, options: { tty?: boolean } = {}): Promise<number> {
  const { file, args } = hostInvocation(commandHost, command, options);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

/** What a captured host command printed. */
export interface Captured {
  /** Exit code (1 when killed). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command on the host and captures its output; killed after `timeoutMs` (default 60 s). */
export function captureOnHost(commandHost: string, command: string, timeoutMs = 60_000): Promise<Captured> {
  const { file, args } = hostInvocation(commandHost, command);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A shell on the stack's host (tests pass fakes). */
export interface HostShell {
  /** Streams the command's output to the terminal; resolves with its exit code. */
  run(commandHost: string, command: string, options?: { tty?: boolean }): Promise<number>;
  /** Captures the command's output. */
  capture(commandHost: string, command: string): Promise<Captured>;
}

export const defaultHostShell: HostShell = { run: runOnHost, capture: captureOnHost };

export { shellQuote } from "../components/shell";

/** The stack outputs the backup and restore commands need (written by stacks/system.ts). */
export interface BackupOutputs {
  backupCommand: string;
  restoreCommand: string;
  backupDir: string;
  commandHost: string;
}

/** Reads and checks the outputs; a stack never deployed has none. */
export function backupOutputs(stackName: string, outputs: Record<string, { value: unknown }>): BackupOutputs {
  const read = (key: keyof BackupOutputs) => {
    const value = outputs[key]?.value;
    if (typeof value !== "string" || value === "") {
      throw new Error(`stack ${stackName} has no output "${key}": deploy it first (npm run deploy -- --stack ${stackName})`);
    }
    return value;
  };
  return { backupCommand: read("backupCommand"), restoreCommand: read("restoreCommand"), backupDir: read("backupDir"), commandHost: read("commandHost") };
}

/** What the backup and restore commands need from outside: the stack's outputs and a shell on its host. */
export interface HostDeps {
  stackOutputs(stackName: string): Promise<Record<string, { value: unknown }>>;
  run(commandHost: string, command: string): Promise<number>;
}

export const defaultHostDeps: HostDeps = {
  async stackOutputs(stackName) {
    // Imported lazily so that --help and argument errors work without the Pulumi CLI.
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const { REPO_ROOT } = await import("./workspace");
    ensureLocalBackend(REPO_ROOT);
    const stack = await LocalWorkspace.selectStack({ stackName, workDir: REPO_ROOT });
    return stack.outputs();
  },
  run: runOnHost,
};

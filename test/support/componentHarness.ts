/**
 * Runs a few components alone under Pulumi's mock monitor (no stack config, no index.ts) and returns what
 * they registered, the same shape as stackHarness's `runStack`. Calls must not overlap; one after the other
 * in the same test file is fine (each gets a fresh mock monitor and root stack).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "../../components/shell";
import { RecordedResource, emulateAdditionalSecretOutputs, finder, recordUnderMocks, unsecret } from "./mockRuntime";

export { emulateAdditionalSecretOutputs, mockState } from "./mockRuntime";

export interface ComponentRun<T> {
  /** What `build` returned (the components, to read their outputs). */
  result: T;
  resources: RecordedResource[];
  get(type: string, name: string): RecordedResource;
  ofType(type: string): RecordedResource[];
}

/** Builds the components under mocks, with secret outputs marked as the engine would mark them. */
export async function runComponents<T>(build: () => T, stack = "test"): Promise<ComponentRun<T>> {
  const undo = emulateAdditionalSecretOutputs();
  try {
    const { result, resources } = await recordUnderMocks({ stack, build });
    return { result, resources, ...finder(resources) };
  } finally {
    undo();
  }
}

/** The URN of a resource object (e.g. an `opts.parent`), resolved. */
export function urnOf(resource: pulumi.Resource): Promise<string> {
  return new Promise((resolve) => resource.urn.apply(resolve));
}

/** A recorded resource's input with every secret envelope removed, however deep. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- recorded inputs are untyped JSON
export function plainInput<T = any>(value: unknown): T {
  const v = unsecret(value);
  if (Array.isArray(v)) return v.map((x) => plainInput(x)) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainInput(x)])) as T;
  return v as T;
}

export interface CommandRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a recorded `command:local:Command` as the Command provider does on create: its interpreter with the
 * `create` string, its `stdin` on standard input. Bounded in time; PATH may be prefixed (stub programs).
 */
export function runRecordedCommand(
  cmd: RecordedResource,
  options: { pathPrefix?: string; cwd?: string; env?: Record<string, string> } = {},
): CommandRun {
  const inputs = plainInput<{ create: string; stdin?: string; interpreter?: string[] }>(cmd.inputs);
  const [shell, ...shellArgs] = inputs.interpreter ?? ["/bin/sh", "-c"];
  const PATH = options.pathPrefix ? `${options.pathPrefix}:${process.env.PATH}` : String(process.env.PATH);
  const result = spawnSync(shell, [...shellArgs, inputs.create], {
    input: inputs.stdin ?? "",
    cwd: options.cwd,
    env: { PATH, HOME: process.env.HOME ?? "/root", ...options.env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fake `ssh` on PATH: records each call's argv and its stdin, then runs the remote command with `sh -c`. */
export interface StubSsh {
  /** Folder to put first on PATH. */
  binDir: string;
  /** The argv of each call, in order. */
  calls(): string[][];
  /** The standard input each call received, in order. */
  stdins(): string[];
}

// The remote command is the last argument, as with the real ssh when it is given as one word.
const stubSshScript = (dir: string) => `#!/bin/sh
set -eu
STUB_DIR=${shellQuote(dir)}
n=$(cat "$STUB_DIR/count" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$STUB_DIR/count"
: > "$STUB_DIR/argv.$n"
for arg in "$@"; do printf '%s\\0' "$arg" >> "$STUB_DIR/argv.$n"; done
tee "$STUB_DIR/stdin.$n" | sh -c "$arg"
`;

/** Makes a stub ssh in `dir` (a fresh temporary folder). */
export function stubSsh(dir: string): StubSsh {
  const binDir = path.join(dir, "bin");
  fs.mkdirSync(binDir, { recursive: true });
  fs.writeFileSync(path.join(binDir, "ssh"), stubSshScript(dir), { mode: 0o755 });
  const count = () =>
    Number(fs.existsSync(path.join(dir, "count")) ? fs.readFileSync(path.join(dir, "count"), "utf8").trim() : 0);
  const each = <R>(read: (n: number) => R) => Array.from({ length: count() }, (_, i) => read(i + 1));
  return {
    binDir,
    calls: () =>
      each((n) =>
        fs
          .readFileSync(path.join(dir, `argv.${n}`), "utf8")
          .split("\0")
          .slice(0, -1),
      ),
    stdins: () => each((n) => fs.readFileSync(path.join(dir, `stdin.${n}`), "utf8")),
  };
}

/** The stub ssh's script, for shellcheck. */
export const STUB_SSH_SCRIPT = stubSshScript("/tmp/stub dir");

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

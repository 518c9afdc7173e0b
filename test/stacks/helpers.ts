/** Shared checks and small readers for the stack tests (not a test file itself). */
import { execFileSync } from "child_process";
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import { RecordedResource, runStack, StackRun, T, unsecret } from "../support";

export { isSecretEnvelope, unsecret, envMap as envOf } from "../support";

export const HOME = os.homedir();

/** The words of a command line as a POSIX shell splits them (quotes honoured). */
export function shellWords(commandLine: string): string[] {
  const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${commandLine}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

/** The one host command with that name, local or remote. */
export function hostCommandOf(run: StackRun, name: string): RecordedResource {
  const hits = [...run.ofType(T.localCommand), ...run.ofType(T.remoteCommand)].filter((r) => r.name === name);
  if (hits.length !== 1) throw new Error(`expected one command named ${name}, found ${hits.length}`);
  return hits[0];
}

/** The MODE:PATH specs the host-layout command passes to host-layout.sh. */
function layoutSpecs(run: StackRun): string[] {
  const create = String(hostCommandOf(run, "host-layout-data-folders").inputs.create);
  const words = shellWords(create);
  expect(words.slice(0, 3)).toEqual(["sh", "-s", "--"]);
  return words.slice(3);
}

/** Folder → mode ("" for the default) the host layout creates. */
export function layoutFolders(run: StackRun): Record<string, string> {
  return Object.fromEntries(
    layoutSpecs(run).map((spec) => {
      const i = spec.indexOf(":");
      return [spec.slice(i + 1), spec.slice(0, i)];
    }),
  );
}

export interface Mount {
  type: string;
  source: string;
  target: string;
  readOnly?: boolean;
}

export function mountsOf(container: RecordedResource): Mount[] {
  return (container.inputs.mounts ?? []) as Mount[];
}

/** The mount of a container at a container path; fails when there is not exactly one. */
export function mountAt(container: RecordedResource, target: string): Mount {
  const hits = mountsOf(container).filter((m) => m.target === target);
  if (hits.length !== 1)
    throw new Error(`${container.name}: expected one mount at ${target}, found ${JSON.stringify(mountsOf(container))}`);
  return hits[0];
}

/** A resolved input with every secret envelope removed, however deep. */
export function deepUnsecret<T = unknown>(value: unknown): T {
  const v = unsecret(value);
  if (Array.isArray(v)) return v.map((x) => deepUnsecret(x)) as T;
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepUnsecret(x)])) as T;
  return v as T;
}

/** The content of a file the container gets through `uploads` (text, or base64 decoded for a binary). */
export function uploadedFile(container: RecordedResource, file: string): string {
  const uploads = deepUnsecret<{ file: string; content?: string; contentBase64?: string }[]>(
    container.inputs.uploads ?? [],
  );
  const hit = uploads.find((u) => u.file === file);
  if (!hit) throw new Error(`${container.name}: no upload ${file} (has ${uploads.map((u) => u.file).join(", ")})`);
  return hit.content ?? Buffer.from(hit.contentBase64 ?? "", "base64").toString("latin1");
}

/** The variables of an API container's secrets file (/run/ems/secrets.env), by name. */
export function secretsOf(container: RecordedResource): Record<string, string> {
  const text = uploadedFile(container, "/run/ems/secrets.env");
  return Object.fromEntries(
    text
      .split("\n")
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

/** The files Traefik's dynamic-config command writes on the host (from its script), by name. */
export function dynamicFiles(run: StackRun): Record<string, string> {
  const script = String(deepUnsecret(hostCommandOf(run, "traefik-dynamic-config").inputs.stdin));
  const files: Record<string, string> = {};
  const re = /tmp="\$dir\/\.([^"]+)\.\$\$"\ncat > "\$tmp" <<'EMS_INFRA_EOF'\n([\s\S]*?)EMS_INFRA_EOF\n/g;
  for (const m of script.matchAll(re)) files[m[1]] = m[2];
  return files;
}

/**
 * The plain value of a constructor input, unknown parts (e.g. an id the mock leaves unknown) as Pulumi's
 * unknown marker: unlike `unwrap`, it never waits forever on an unknown Output.
 */
export function resolveInput(value: unknown): Promise<unknown> {
  return (pulumi.output(value) as unknown as { promise(withUnknowns: boolean): Promise<unknown> }).promise(true);
}

/** Every string anywhere in a value (secret wrappers included). */
export function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => allStrings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => allStrings(v, out));
  return out;
}

/** A stack config with one nested value replaced (`path` below the `ems-infra:` key, e.g. ["services","ems","version"]). */
export function withValue(
  config: Record<string, string>,
  key: string,
  path: string[],
  value: unknown,
): Record<string, string> {
  const full = `ems-infra:${key}`;
  if (path.length === 0) return { ...config, [full]: typeof value === "string" ? value : JSON.stringify(value) };
  const obj = config[full] === undefined ? {} : JSON.parse(config[full]);
  let node = obj;
  for (const k of path.slice(0, -1)) node = node[k] ??= {};
  node[path[path.length - 1]] = value;
  return { ...config, [full]: JSON.stringify(obj) };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- SDK-internal runtime modules, loaded as the SDK loads them
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as {
  MockMonitor: { prototype: { registerResource: (req: { getType(): string }, cb: unknown) => unknown } };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- waitForRPCs is not in the SDK's typings
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK's internal runtime state (its root stack)
const runtimeState = require("@pulumi/pulumi/runtime/state") as { getStackResource(): RootStack | undefined };

/** The part of the SDK's root Stack resource read after a failed run. */
interface RootStack {
  outputs?: { isKnown?: Promise<boolean>; isSecret?: Promise<boolean> };
}

export interface FailedRun {
  error: unknown;
  /** Types of the resources the run registered besides the root stack. */
  registered: string[];
}

/**
 * Runs a stack that is expected to fail. The SDK leaves the root stack's isKnown/isSecret promises
 * rejected and unobserved when the program throws (the CLI's language host swallows them; jest would report
 * them), so they are observed here, and the stack's last RPC is awaited before the next run starts.
 */
export async function runFailingStack(
  stack: string,
  config: Record<string, string>,
  secretKeys?: string[],
): Promise<FailedRun> {
  const registered: string[] = [];
  const realRegister = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (this: unknown, req: { getType(): string }, cb: unknown) {
    if (req.getType() !== "pulumi:pulumi:Stack") registered.push(req.getType());
    return realRegister.call(this, req, cb);
  };
  let error: unknown;
  try {
    await runStack(stack, config, secretKeys);
  } catch (err) {
    error = err;
  } finally {
    const root = runtimeState.getStackResource();
    root?.outputs?.isKnown?.catch(() => undefined);
    root?.outputs?.isSecret?.catch(() => undefined);
    await waitForRPCs().catch(() => undefined);
    MockMonitor.prototype.registerResource = realRegister;
  }
  return { error, registered };
}

/** The message of a RunError, failing the test when the run did not fail with one. */
export function runErrorMessage(failed: FailedRun): string {
  if (!(failed.error instanceof pulumi.RunError)) {
    throw new Error(
      `expected a pulumi.RunError, got ${failed.error === undefined ? "a successful run" : String((failed.error as Error)?.stack ?? failed.error)}`,
    );
  }
  return (failed.error as Error).message;
}

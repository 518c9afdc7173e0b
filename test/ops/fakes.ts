/** Test doubles for the ops CLIs: terminal I/O and an Automation API stack that needs no Pulumi CLI. */
import type { ConfigValue, EngineEvent, OpMap, PreviewOptions, PreviewResult, UpdateSummary, UpOptions, UpResult } from "@pulumi/pulumi/automation";
import type { Deps, Io, StackLike } from "../../ops/stackOps";

export interface FakeIo extends Io {
  stdout: string;
  stderr: string;
  questions: string[];
}

export function fakeIo(options: { tty?: boolean; answers?: string[] } = {}): FakeIo {
  const answers = [...(options.answers ?? [])];
  const io: FakeIo = {
    stdout: "",
    stderr: "",
    questions: [],
    isTTY: options.tty ?? false,
    out: (text) => {
      io.stdout += text;
    },
    err: (text) => {
      io.stderr += text;
    },
    prompt: async (question) => {
      io.questions.push(question);
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected prompt: ${question}`);
      return answer;
    },
  };
  return io;
}

export interface FakeStackOptions {
  /** Initial config, full key → value (object values as JSON strings, like `pulumi config get`). */
  config?: Record<string, string>;
  history?: UpdateSummary[];
  previewChanges?: OpMap;
  previewError?: Error;
  previewEvents?: Array<Partial<EngineEvent>>;
  upError?: Error;
  upChanges?: OpMap;
  upVersion?: number;
}

/** Config is kept as a plain object; `path: true` keys are applied to the nested JSON like `pulumi config set --path`. */
export class FakeStack implements StackLike {
  readonly calls: string[] = [];
  readonly config: Record<string, string>;
  previewOptions?: PreviewOptions;
  upOptions?: UpOptions;

  constructor(
    readonly name: string,
    private readonly options: FakeStackOptions = {},
  ) {
    this.config = { ...(options.config ?? {}) };
  }

  async getConfig(key: string, path?: boolean): Promise<ConfigValue> {
    this.calls.push(`getConfig ${key}${path ? " --path" : ""}`);
    const value = path ? this.getPath(key) : this.config[key];
    if (value === undefined) throw new Error(`configuration key '${key}' not found for stack '${this.name}'`);
    return { value, secret: false };
  }

  async setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void> {
    this.calls.push(`setConfig ${key}=${value.value}${path ? " --path" : ""}`);
    if (path) this.setPath(key, value.value);
    else this.config[key] = value.value;
  }

  async removeConfig(key: string, path?: boolean): Promise<void> {
    this.calls.push(`removeConfig ${key}${path ? " --path" : ""}`);
    if (path) this.setPath(key, undefined);
    else delete this.config[key];
  }

  async preview(opts?: PreviewOptions): Promise<PreviewResult> {
    this.calls.push("preview");
    this.previewOptions = opts;
    opts?.onOutput?.("Previewing update (fake):\n");
    for (const event of this.options.previewEvents ?? []) opts?.onEvent?.({ sequence: 0, timestamp: 0, ...event });
    if (this.options.previewError) throw this.options.previewError;
    return { stdout: "", stderr: "", changeSummary: this.options.previewChanges ?? { same: 16 } };
  }

  async up(opts?: UpOptions): Promise<UpResult> {
    this.calls.push(`up ${opts?.message ?? ""}`.trimEnd());
    this.upOptions = opts;
    opts?.onOutput?.("Updating (fake):\n");
    if (this.options.upError) throw this.options.upError;
    return {
      stdout: "",
      stderr: "",
      outputs: {},
      summary: {
        kind: "update",
        startTime: new Date(0),
        endTime: new Date(0),
        message: opts?.message ?? "",
        environment: {},
        config: {},
        result: "succeeded",
        version: this.options.upVersion ?? 10,
        resourceChanges: this.options.upChanges ?? { replace: 1, same: 15 },
      },
    };
  }

  /** Pages like the CLI: `--page-size n --page p` (1-based); everything without a page size. */
  async history(pageSize?: number, page?: number, showSecrets?: boolean): Promise<UpdateSummary[]> {
    this.calls.push(`history ${pageSize ?? "-"}/${page ?? "-"} showSecrets=${String(showSecrets)}`);
    const all = this.options.history ?? [];
    if (!pageSize) return all;
    const start = ((page ?? 1) - 1) * pageSize;
    return all.slice(start, start + pageSize);
  }

  private split(key: string): [string, string[]] {
    const [namespace, rest] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    const [top, ...path] = rest.split(".");
    return [`${namespace}:${top}`, path];
  }

  private getPath(key: string): string | undefined {
    const [top, path] = this.split(key);
    const raw = this.config[top];
    if (raw === undefined) return undefined;
    if (path.length === 0) return raw;
    let node: unknown = JSON.parse(raw);
    for (const p of path) node = (node as Record<string, unknown> | undefined)?.[p];
    return node === undefined ? undefined : typeof node === "string" ? node : JSON.stringify(node);
  }

  private setPath(key: string, value: string | undefined): void {
    const [top, path] = this.split(key);
    if (path.length === 0) {
      if (value === undefined) delete this.config[top];
      else this.config[top] = value;
      return;
    }
    const root = (this.config[top] ? JSON.parse(this.config[top]) : {}) as Record<string, unknown>;
    let node = root;
    for (const p of path.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    if (value === undefined) delete node[path[path.length - 1]];
    else node[path[path.length - 1]] = value;
    this.config[top] = JSON.stringify(root);
  }
}

export function fakeDeps(stack: FakeStack | Error, options: { policy?: boolean } = {}): Deps & { opened: Array<{ name: string; workDir: string; create: boolean }> } {
  const opened: Array<{ name: string; workDir: string; create: boolean }> = [];
  return {
    opened,
    repoRoot: "/repo",
    exists: (p) => options.policy === true && p === "/repo/policy/PulumiPolicy.yaml",
    async openStack(name, workDir, create) {
      opened.push({ name, workDir, create });
      if (stack instanceof Error) throw stack;
      return stack;
    },
  };
}

export const PROD_CONFIG: Record<string, string> = {
  "ems-infra:environment": "production",
  "ems-infra:services": JSON.stringify({ ems: { version: "1.4.2", port: 8080 }, sms: { version: "1.1.0", port: 8080 } }),
  "ems-infra:traefik": JSON.stringify({ image: "traefik:v3.3.5" }),
  "ems-infra:postgres": JSON.stringify({ image: "postgres:16.6" }),
};

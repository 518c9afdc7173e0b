/** Test doubles for the ops CLIs: terminal I/O and an Automation API stack that needs no Pulumi CLI. */
import * as fs from "fs";
import * as path from "path";
import type {
  ConfigValue,
  Deployment,
  EngineEvent,
  OpMap,
  OutputMap,
  PreviewOptions,
  PreviewResult,
  RefreshOptions,
  RefreshResult,
  UpdateSummary,
  UpOptions,
  UpResult,
} from "@pulumi/pulumi/automation";
import type { Deps, StackLike } from "../../ops/runner/context";
import { Captured, describeHost, HostShell, HostTarget } from "../../ops/runner/hostShell";
import type { Io } from "../../ops/runner/io";

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
  refreshError?: Error;
  /** What `exportStack()` returns (default: a state with no resources). */
  state?: Deployment;
  /** Stack outputs, plain values (wrapped as `{ value }` like the Automation API). */
  outputs?: Record<string, unknown>;
}

/** An exported state from test/fixtures (`pulumi stack export` shape). */
export function stateFixture(name: string): Deployment {
  return JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", name), "utf8")) as Deployment;
}

/** Config is kept as a plain object; `path: true` keys are applied to the nested JSON like `pulumi config set --path`. */
export class FakeStack implements StackLike {
  readonly calls: string[] = [];
  /** The calls that change something or run the engine (config writes, preview, up), in order. */
  get changes(): string[] {
    return this.calls.filter((c) => /^(setConfig|removeConfig|preview|up|refresh)\b/.test(c));
  }
  readonly config: Record<string, string>;
  previewOptions?: PreviewOptions;
  upOptions?: UpOptions;
  refreshOptions?: RefreshOptions;

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

  /** Records the options; with `clearPendingCreates`, the state's pending operations go, as the CLI drops them. */
  async refresh(opts?: RefreshOptions): Promise<RefreshResult> {
    this.calls.push(`refresh${opts?.clearPendingCreates ? " --clear-pending-creates" : ""}`);
    this.refreshOptions = opts;
    if (this.options.refreshError) throw this.options.refreshError;
    return {
      stdout: "",
      stderr: "",
      summary: {
        kind: "refresh",
        startTime: new Date(0),
        endTime: new Date(0),
        message: "",
        environment: {},
        config: {},
        result: "succeeded",
        version: 0,
        resourceChanges: { same: 16 },
      },
    };
  }

  async exportStack(): Promise<Deployment> {
    this.calls.push("exportStack");
    return this.options.state ?? { version: 3, deployment: { manifest: {}, resources: [] } };
  }

  async outputs(): Promise<OutputMap> {
    return Object.fromEntries(
      Object.entries(this.options.outputs ?? {}).map(([k, value]) => [k, { value, secret: false }]),
    );
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

/** The engine a current VPS runs (`docker version` of a fresh Debian 12 install): Docker 29 wants API ≥ 1.44. */
const VPS_ENGINE = "1.52 29.1.3 amd64";
/** Its `docker info` SwapLimit: swap accounting on (cgroup v2). */
const VPS_SWAP_LIMIT = "true";

/** The release pre-flight's questions to the engine (`docker [-H host] version|info --format …`). */
const ENGINE_QUESTION = /^docker (-H \S+ )?(version|info) --format/;
/** The release pre-flight's listing of the containers on the data volume (ops/dataVolume.ts). */
const DATA_VOLUME_QUESTION = /^docker (-H \S+ )?ps -a --filter '?volume=/;

/**
 * A host shell that answers from a handler and records every command (`run` = streamed, `capture`), with the host
 * as `describeHost` prints it. The release pre-flight's `docker version` gets {@link VPS_ENGINE} and its
 * `docker info` {@link VPS_SWAP_LIMIT} unless the handler answers them.
 */
export class FakeHost implements HostShell {
  readonly commands: Array<{ mode: "run" | "capture"; commandHost: string; command: string; tty: boolean }> = [];
  /** Every target a command went to, as given (to check the ssh options the program's config asks for). */
  readonly targets: HostTarget[] = [];

  constructor(private readonly answer: (command: string) => Partial<Captured> = () => ({})) {}

  async run(target: HostTarget, command: string, options: { tty?: boolean } = {}): Promise<number> {
    this.record("run", target, command, options.tty === true);
    return this.answer(command).code ?? 0;
  }

  async capture(target: HostTarget, command: string): Promise<Captured> {
    this.record("capture", target, command, false);
    const a = this.answer(command);
    const question = a.stdout === undefined && a.code === undefined ? ENGINE_QUESTION.exec(command)?.[2] : undefined;
    const engine = question === "version" ? `${VPS_ENGINE}\n` : question === "info" ? `${VPS_SWAP_LIMIT}\n` : "";
    return { code: a.code ?? 0, stdout: a.stdout ?? engine, stderr: a.stderr ?? "" };
  }

  /** The commands other than the release pre-flight's questions to the engine (and the data volume's containers). */
  get withoutPreflight(): FakeHost["commands"] {
    return this.commands.filter((c) => !ENGINE_QUESTION.test(c.command) && !DATA_VOLUME_QUESTION.test(c.command));
  }

  private record(mode: "run" | "capture", target: HostTarget, command: string, tty: boolean): void {
    this.targets.push(target);
    this.commands.push({ mode, commandHost: describeHost(target), command, tty });
  }
}

export interface FakeDepsOptions {
  policy?: boolean;
  /** Stacks the backend holds (default: the one passed, by name). */
  stacks?: string[];
  /** Files that exist besides the policy pack, relative to /repo. */
  files?: string[];
  env?: NodeJS.ProcessEnv;
  host?: HostShell;
  /** Pulumi.yaml's contents (default: the local folder backend). */
  pulumiYaml?: string;
  /** Programs on PATH (default: pulumi). */
  onPath?: string[];
  /** The clock (default: 2025-03-14T18:00:00Z). */
  now?: Date;
}

export function fakeDeps(
  stack: FakeStack | Error,
  options: FakeDepsOptions = {},
): Deps & { opened: Array<{ name: string; workDir: string; create: boolean }> } {
  const opened: Array<{ name: string; workDir: string; create: boolean }> = [];
  const files = new Set((options.files ?? []).map((f) => `/repo/${f}`));
  if (options.policy === true) files.add("/repo/policy/PulumiPolicy.yaml");
  return {
    opened,
    repoRoot: "/repo",
    exists: (p) => files.has(p),
    env: options.env ?? {},
    readFile: (p) => {
      if (p !== "/repo/Pulumi.yaml") throw new Error(`unexpected read of ${p}`);
      return options.pulumiYaml ?? "name: ems-infra\nruntime: nodejs\nbackend:\n  url: file://~/.pulumi-ems-infra\n";
    },
    listStacks: async () => options.stacks ?? (stack instanceof Error ? [] : [stack.name]),
    host: options.host ?? new FakeHost(),
    onPath: (program) => (options.onPath ?? ["pulumi"]).includes(program),
    now: () => options.now ?? new Date("2025-03-14T18:00:00Z"),
    async openStack(name, workDir, create) {
      opened.push({ name, workDir, create });
      if (stack instanceof Error) throw stack;
      return stack;
    },
  };
}

export const PROD_CONFIG: Record<string, string> = {
  "ems-infra:environment": "production",
  "ems-infra:services": JSON.stringify({
    ems: { version: "1.4.2", port: 8080 },
    sms: { version: "1.1.0", port: 8080 },
  }),
  "ems-infra:traefik": JSON.stringify({ image: "traefik:v3.6.1" }),
  "ems-infra:postgres": JSON.stringify({ image: "postgres:16.6" }),
  // What the release pre-flight wrote on the last deploy to the VPS_ENGINE host: nothing to set again.
  "ems-infra:engine": JSON.stringify({ apiVersion: "1.52", swapLimit: true }),
};

/**
 * The outputs a deployed prod stack holds (stacks/opsContract.ts), with the values the program exports for
 * Pulumi.prod.yaml (test/stacks/ops-outputs.test.ts checks the program's own against the same contract).
 */
export function prodOutputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const data = "/root/ems_system/data";
  const pgExec = "PG_EXEC='docker exec -i -e PGUSER=postgres ems_system-postgres'";
  const backupCommand = `BACKUP_DIR=${data}/backups KEEP_DAILY=14 KEEP_WEEKLY=8 ${pgExec} ${data}/bin/backup.sh`;
  return {
    system: "ems_system",
    environment: "production",
    containers: { traefik: "infra_traefik", postgres: "ems_system-postgres" },
    urls: { ems: "https://api.ems.edumigsoft.com.br", sms: "https://api.sms.edumigsoft.com.br" },
    images: { ems: "ghcr.io/edumigsoft/ems-server:1.4.2", sms: "ghcr.io/edumigsoft/sms-server:1.1.0" },
    backupDir: `${data}/backups`,
    backupCommand,
    restoreCommand: `${pgExec} ${data}/bin/restore.sh`,
    backupLog: `${data}/logs/backup.log`,
    hostExpectations: {
      folders: [{ path: `${data}/backups` }],
      cron: {
        job: "ems_system-backup",
        line: `0 3 * * * ${backupCommand} >> ${data}/logs/backup.log 2>&1 # ems-infra:ems_system-backup`,
      },
    },
    ...overrides,
  };
}

/**
 * The one context every ops command runs with: the terminal, the process environment, the repository, the Pulumi
 * stacks (Automation API, imported lazily so `--help` and argument errors work without the Pulumi CLI) and a shell on
 * the stack's host. Production builds it with {@link defaultDeps}; tests pass fakes (test/support).
 */
import * as fs from "fs";
import * as path from "path";
import type {
  ConfigValue,
  Deployment,
  OutputMap,
  PreviewOptions,
  PreviewResult,
  RefreshOptions,
  RefreshResult,
  UpdateSummary,
  UpOptions,
  UpResult,
} from "@pulumi/pulumi/automation";
import { ensureLocalBackend } from "./backend";
import { defaultHostShell, HostShell } from "./hostShell";
import type { Io } from "./io";

/** The repository root: where Pulumi.yaml and the stack files live. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** The subset of Automation API's `Stack` the commands use (a real `Stack` satisfies it; tests pass fakes). */
export interface StackLike {
  readonly name: string;
  getConfig(key: string, path?: boolean): Promise<ConfigValue>;
  setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void>;
  removeConfig(key: string, path?: boolean): Promise<void>;
  preview(opts?: PreviewOptions): Promise<PreviewResult>;
  up(opts?: UpOptions): Promise<UpResult>;
  /** `pulumi refresh`; with `clearPendingCreates`, also drops an interrupted update's pending creates. */
  refresh(opts?: RefreshOptions): Promise<RefreshResult>;
  history(pageSize?: number, page?: number, showSecrets?: boolean): Promise<UpdateSummary[]>;
  /** The stack's state (`pulumi stack export`): resources with their init errors and pending operations. */
  exportStack(): Promise<Deployment>;
  /** The stack outputs of the last update. */
  outputs(): Promise<OutputMap>;
}

/** What a command needs from outside besides the terminal. */
export interface Deps {
  /** `create: true` → createOrSelectStack (deploy); false → selectStack. */
  openStack(stackName: string, workDir: string, create: boolean): Promise<StackLike>;
  /** Where Pulumi.yaml and the stack files are. */
  repoRoot: string;
  /** Whether a file exists (the policy pack, a stack file). */
  exists(p: string): boolean;
  /** The process environment: PULUMI_BACKEND_URL, CI, DOCKER_HOST, npm's own variables. */
  env: NodeJS.ProcessEnv;
  /** Contents of a repository file (Pulumi.yaml). */
  readFile(p: string): string;
  /** The stacks the backend holds (`pulumi stack ls`). */
  listStacks(workDir: string): Promise<string[]>;
  /** A shell on the stack's host: here, or over SSH. */
  host: HostShell;
  /** Whether a program is on PATH (the Pulumi CLI the Automation API drives). */
  onPath(program: string): boolean;
  /** The current time (status's uptimes). */
  now(): Date;
  /**
   * `npm run doctor`'s checks, run by deploy before anything else on a development stack: prints the problems and
   * resolves false when the deploy would fail. Absent: the real checks on this machine (ops/doctor.ts).
   */
  checkMachine?(stackName: string, io: Io): Promise<boolean>;
}

/** The context a command's `run` receives: its dependencies and the terminal. */
export interface Context extends Deps {
  io: Io;
}

/** Whether `program` is an executable file in one of PATH's folders. */
function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? "").split(path.delimiter).some((dir) => {
    if (!dir) return false;
    try {
      fs.accessSync(path.join(dir, program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
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
  env: process.env,
  readFile: (p) => fs.readFileSync(p, "utf8"),
  async listStacks(workDir) {
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    ensureLocalBackend(workDir);
    const workspace = await LocalWorkspace.create({ workDir });
    return (await workspace.listStacks()).map((s) => s.name);
  },
  host: defaultHostShell,
  onPath: (program) => onPath(program),
  now: () => new Date(),
};

/** The local policy pack (`policy/PulumiPolicy.yaml`), when there is one. */
export function policyPacks(deps: Pick<Deps, "repoRoot" | "exists">): string[] | undefined {
  const dir = path.join(deps.repoRoot, "policy");
  return deps.exists(path.join(dir, "PulumiPolicy.yaml")) ? [dir] : undefined;
}

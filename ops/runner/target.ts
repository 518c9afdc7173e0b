/**
 * Safety before anything changes: which backend and Docker host a command acts on (printed first), which stacks
 * `deploy` may create, and the CI rule that the runner's own Docker is never the prod target.
 */
import * as path from "path";
import { backendUrl, localBackendDir } from "./backend";
import type { Io } from "./io";
import { describeHost } from "./hostShell";
import { dockerHostConfig, hostTargetOf } from "./stackConfig";
import type { Deps, StackLike } from "./context";

/** The backend in use, for messages: the URL, or what Pulumi falls back to without one. */
function backendLabel(deps: Pick<Deps, "env" | "readFile" | "repoRoot">): string {
  return (
    backendUrl(deps.env, deps.readFile(path.join(deps.repoRoot, "Pulumi.yaml"))) ??
    "Pulumi Cloud (no backend configured)"
  );
}

/** The Docker engine the program drives: `docker.host`, else the SSH host's engine, else this machine's. */
async function dockerHostLabel(stack: Pick<StackLike, "getConfig">, env: NodeJS.ProcessEnv): Promise<string> {
  const explicit = await dockerHostConfig(stack);
  if (explicit) return explicit;
  const ssh = await hostTargetOf(stack);
  if (ssh !== "local") return `ssh://${describeHost(ssh)}`;
  return `this machine (${env.DOCKER_HOST ?? "unix:///var/run/docker.sock"})`;
}

/** Prints `stack … | backend … | docker host …` before a command previews or touches a host. */
export async function printTarget(
  stack: StackLike,
  io: Io,
  deps: Pick<Deps, "env" | "readFile" | "repoRoot">,
): Promise<void> {
  io.out(
    `stack:       ${stack.name}\nbackend:     ${backendLabel(deps)}\ndocker host: ${await dockerHostLabel(stack, deps.env)}\n`,
  );
}

/**
 * Whether `deploy` may open the stack: an existing one always; a new one only `dev`, or one with a
 * `Pulumi.<stack>.yaml` on the local folder backend. Returns the refusal, or undefined.
 */
export async function refuseStackCreation(stackName: string, deps: Deps): Promise<string | undefined> {
  const existing = await deps.listStacks(deps.repoRoot);
  if (existing.includes(stackName)) return undefined;
  if (stackName === "dev") return undefined;
  const url = backendUrl(deps.env, deps.readFile(path.join(deps.repoRoot, "Pulumi.yaml")));
  const local = localBackendDir(url, "~", deps.repoRoot) !== undefined;
  const hasFile = deps.exists(path.join(deps.repoRoot, `Pulumi.${stackName}.yaml`));
  if (hasFile && local) return undefined;
  const known = existing.length ? existing.join(", ") : "none";
  const why = !hasFile
    ? `there is no Pulumi.${stackName}.yaml (a typo?)`
    : `the backend is not the local folder: is PULUMI_BACKEND_URL the one that holds ${stackName}?`;
  return `stack "${stackName}" does not exist in backend ${backendLabel(deps)} (existing stacks: ${known}) and ${why}; deploy creates only dev, or a stack with a Pulumi.<stack>.yaml on the local folder backend`;
}

/** In CI, prod must name its host (`ems-infra:ssh` or `ems-infra:docker.host`): the runner's Docker is never the target. */
export async function refuseCiTarget(stack: StackLike, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.CI !== "true" || stack.name !== "prod") return undefined;
  if ((await hostTargetOf(stack)) !== "local" || (await dockerHostConfig(stack))) return undefined;
  return "in CI the prod stack needs ems-infra:ssh or ems-infra:docker.host: without them it would act on the runner's own Docker";
}

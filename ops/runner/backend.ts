import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

/** The state backend in use: PULUMI_BACKEND_URL when set, else Pulumi.yaml's `backend.url`. */
export function backendUrl(env: NodeJS.ProcessEnv, pulumiYaml: string): string | undefined {
  if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
  const project = YAML.parse(pulumiYaml) as { backend?: { url?: string } } | null;
  return project?.backend?.url;
}

/** The folder of a local (file://) backend, `~` expanded; undefined for any other backend. */
export function localBackendDir(url: string | undefined, home: string, cwd: string): string | undefined {
  if (!url?.startsWith("file://")) return undefined;
  const location = url.slice("file://".length).split("?")[0];
  if (location === "~" || location.startsWith("~/")) return path.join(home, location.slice(1));
  return path.resolve(cwd, location);
}

/** Pulumi refuses a file:// backend whose folder is missing ("unable to open bucket"): make it first. */
export function ensureLocalBackend(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = localBackendDir(
    backendUrl(env, fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")),
    os.homedir(),
    repoRoot,
  );
  if (dir) fs.mkdirSync(dir, { recursive: true });
  return dir;
}

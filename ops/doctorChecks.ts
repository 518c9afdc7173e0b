/**
 * What a laptop needs before the dev stack's first `pulumi up`, one check per line with its fix. `fail` is what would
 * make the deploy fail; `warn` is what would make it work badly (a browser warning, a name that does not resolve).
 * Every probe of the machine goes through {@link DoctorHost}: tests give it stub tools on PATH and fake answers.
 */
import { spawnSync } from "child_process";
import * as dns from "dns";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as semver from "semver";
import type { StackConfig } from "../stacks/config";
import { routedHosts } from "../stacks/dev";
import { engineArchVerdict, EngineVersion, parseEngineVersion, traefikDockerVerdict } from "./engineVerdicts";

type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  status: CheckStatus;
  /** What was checked, e.g. "Docker engine". */
  name: string;
  /** What was found. */
  detail: string;
  /** What to do about it (warn and fail only). */
  fix?: string;
}

interface ToolRun {
  /** null when the tool could not be started (not installed). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The machine as the checks see it. */
export interface DoctorHost {
  /** Runs a tool found on PATH (no shell). */
  run(tool: string, args: string[]): ToolRun;
  env: NodeJS.ProcessEnv;
  /** `process.version`, e.g. v20.19.0. */
  nodeVersion: string;
  /** The addresses a name resolves to on this machine (/etc/hosts first), [] when it does not. */
  resolve(name: string): Promise<string[]>;
  /** Whether something accepts connections on 127.0.0.1:port. */
  listening(port: number): Promise<boolean>;
  /** The ports Traefik publishes (80 and 443). */
  ports: readonly number[];
  /** The user whose crontab the dev backup edits. */
  user: string;
  /** Whether a file exists and is not empty. */
  fileExists(p: string): boolean;
}

export const realDoctorHost: DoctorHost = {
  run(tool, args) {
    const r = spawnSync(tool, args, { encoding: "utf8", timeout: 20_000 });
    if (r.error) return { status: null, stdout: "", stderr: r.error.message };
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  },
  env: process.env,
  nodeVersion: process.version,
  async resolve(name) {
    try {
      return (await dns.promises.lookup(name, { all: true })).map((a) => a.address);
    } catch {
      return [];
    }
  },
  listening: (port) => isListening(port),
  ports: [80, 443],
  user: os.userInfo().username,
  fileExists: (p) => fs.existsSync(p) && fs.statSync(p).size > 0,
};

/** Whether a TCP connection to 127.0.0.1:port is accepted within a second. */
export function isListening(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const ok = (name: string, detail: string): CheckResult => ({ status: "ok", name, detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({ status: "warn", name, detail, fix });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ status: "fail", name, detail, fix });
const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";

/** Every check for the dev stack, in the order of the README's first run. */
export async function runDoctorChecks(cfg: StackConfig, host: DoctorHost): Promise<CheckResult[]> {
  const results: CheckResult[] = [nodeCheck(host), npmCheck(host)];
  const engine = dockerCheck(host, results);
  if (engine) results.push(traefikCheck(cfg, engine));
  results.push(pulumiCheck(host), passphraseCheck(host));
  if (cfg.tls.mode === "mkcert" && cfg.traefik.manage) results.push(...mkcertChecks(host));
  for (const name of routedHosts(cfg)) results.push(await nameCheck(host, name));
  if (cfg.traefik.manage) for (const port of host.ports) results.push(await portCheck(host, cfg, port, !!engine));
  for (const s of cfg.services.filter((svc) => svc.imageSource === "local"))
    results.push(imageCheck(host, `${s.image}:${s.version}`, s.name, !!engine));
  results.push(crontabCheck(host, cfg));
  return results;
}

function nodeCheck(host: DoctorHost): CheckResult {
  const version = semver.coerce(host.nodeVersion)?.version ?? host.nodeVersion;
  return semver.gte(version, "20.0.0")
    ? ok("Node.js", `${host.nodeVersion}`)
    : fail("Node.js", `${host.nodeVersion} is too old`, "install Node.js 20 or later (https://nodejs.org or nvm)");
}

function npmCheck(host: DoctorHost): CheckResult {
  const r = host.run("npm", ["--version"]);
  return r.status === 0
    ? ok("npm", firstLine(r.stdout))
    : fail("npm", "not found on PATH", "install npm (it comes with Node.js)");
}

/** Docker reachable, its API version and architecture; returns the engine when it answered. */
function dockerCheck(host: DoctorHost, results: CheckResult[]): EngineVersion | undefined {
  const name = "Docker engine";
  const r = host.run("docker", ["version", "--format", "{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}"]);
  if (r.status === null) {
    results.push(fail(name, "the docker command is not installed", "install Docker Engine or Docker Desktop"));
    return undefined;
  }
  if (r.status !== 0) {
    const why = firstLine(r.stderr) || firstLine(r.stdout) || `docker version exited ${r.status}`;
    const denied = /permission denied/i.test(why);
    results.push(
      fail(
        name,
        `not reachable: ${why}`,
        denied
          ? "join the docker group (sudo usermod -aG docker $USER, then log in again)"
          : "start Docker (sudo systemctl start docker, or open Docker Desktop)",
      ),
    );
    return undefined;
  }
  let engine: EngineVersion;
  try {
    engine = parseEngineVersion(r.stdout);
  } catch (err) {
    results.push(fail(name, (err as Error).message, "check that `docker version` works"));
    return undefined;
  }
  const arch = engineArchVerdict(engine);
  results.push(
    arch.ok
      ? ok(
          name,
          `Docker Engine ${engine.version}, API ${engine.apiVersion}, ${engine.arch ?? "architecture not reported"}`,
        )
      : fail(
          name,
          arch.message,
          "deploy the dev stack on an amd64 (x86_64) machine or VM; Apple Silicon and other arm64 machines are not supported yet",
        ),
  );
  return engine;
}

function traefikCheck(cfg: StackConfig, engine: EngineVersion): CheckResult {
  const v = traefikDockerVerdict(cfg.traefik.image, engine);
  return v.ok ? ok("Traefik ↔ Docker", v.message) : fail("Traefik ↔ Docker", v.message, "see the message");
}

function pulumiCheck(host: DoctorHost): CheckResult {
  const r = host.run("pulumi", ["version"]);
  if (r.status !== 0)
    return fail(
      "Pulumi CLI",
      "not found on PATH",
      "curl -fsSL https://get.pulumi.com | sh (or brew install pulumi), then open a new shell",
    );
  return ok("Pulumi CLI", firstLine(r.stdout));
}

function passphraseCheck(host: DoctorHost): CheckResult {
  if (host.env.PULUMI_CONFIG_PASSPHRASE) return ok("passphrase", "PULUMI_CONFIG_PASSPHRASE is set");
  if (host.env.PULUMI_CONFIG_PASSPHRASE_FILE)
    return ok("passphrase", `PULUMI_CONFIG_PASSPHRASE_FILE is set (${host.env.PULUMI_CONFIG_PASSPHRASE_FILE})`);
  return fail(
    "passphrase",
    "PULUMI_CONFIG_PASSPHRASE is not set (it encrypts the stack's secrets)",
    "export PULUMI_CONFIG_PASSPHRASE='…' (choose one for dev and keep it)",
  );
}

/** mkcert installed (the deploy runs it) and its CA trusted (else the browser warns). */
function mkcertChecks(host: DoctorHost): CheckResult[] {
  const r = host.run("mkcert", ["-CAROOT"]);
  if (r.status !== 0)
    return [
      fail(
        "mkcert",
        "not found on PATH (the dev deploy runs it to make the .local certificate)",
        "apt install mkcert (or brew install mkcert), then mkcert -install",
      ),
    ];
  const caroot = firstLine(r.stdout);
  const installed = ok("mkcert", `installed, CA folder ${caroot}`);
  const ca = `${caroot}/rootCA.pem`;
  const exists = host.fileExists(ca);
  if (!exists) return [installed, warn("mkcert CA", `no CA in ${caroot}`, "mkcert -install (asks for your password)")];
  // A CA the system trusts verifies against the system's store; a CA that is only on disk does not.
  const verify = host.run("openssl", ["verify", ca]);
  if (verify.status === 0) return [installed, ok("mkcert CA", "trusted by the system")];
  return [
    installed,
    warn(
      "mkcert CA",
      verify.status === null ? "cannot tell whether it is trusted (no openssl)" : "not trusted by the system",
      "mkcert -install (asks for your password)",
    ),
  ];
}

async function nameCheck(host: DoctorHost, name: string): Promise<CheckResult> {
  const addresses = await host.resolve(name);
  if (addresses.includes("127.0.0.1")) return ok(`name ${name}`, "resolves to 127.0.0.1");
  return warn(
    `name ${name}`,
    addresses.length ? `resolves to ${addresses.join(", ")}, not 127.0.0.1` : "does not resolve",
    `echo '127.0.0.1 ${name}' | sudo tee -a /etc/hosts`,
  );
}

async function portCheck(host: DoctorHost, cfg: StackConfig, port: number, docker: boolean): Promise<CheckResult> {
  const name = `port ${port}`;
  if (!(await host.listening(port))) return ok(name, "free");
  if (docker) {
    const r = host.run("docker", ["ps", "--filter", `publish=${port}`, "--format", "{{.Names}}"]);
    const holders = r.status === 0 ? r.stdout.split("\n").filter(Boolean) : [];
    if (holders.includes(cfg.traefik.containerName))
      return ok(name, `held by this stack's Traefik (${cfg.traefik.containerName})`);
    if (holders.length)
      return fail(
        name,
        `held by container ${holders.join(", ")}`,
        `stop it first (docker stop ${holders.join(" ")}; the old compose stack: docker compose down in its folder)`,
      );
  }
  return fail(
    name,
    "held by another program",
    `find it with: sudo ss -ltnp 'sport = :${port}' (or sudo lsof -i :${port}) and stop it`,
  );
}

function imageCheck(host: DoctorHost, image: string, service: string, docker: boolean): CheckResult {
  const name = `image ${image}`;
  const build =
    `from your ems_system checkout's root: docker build -f servers/${service}/container/Dockerfile ` +
    `--build-arg VERSION=$(sed -n 's/^version: *//p' servers/${service}/server_v1/pubspec.yaml) ` +
    `--build-arg ENVIRONMENT=development -t ${image} .`;
  if (!docker) return fail(name, "cannot be checked without Docker", build);
  const r = host.run("docker", ["image", "inspect", "--format", "{{.Id}}", image]);
  return r.status === 0
    ? ok(name, `present (${firstLine(r.stdout).slice(0, 19)})`)
    : fail(name, "not on this machine (the dev stack runs images built here)", build);
}

function crontabCheck(host: DoctorHost, cfg: StackConfig): CheckResult {
  const name = "crontab";
  const what = `the dev deploy adds one line (the ${cfg.backup.schedule} backup, marked # ems-infra:${cfg.system}-backup) to ${host.user}'s crontab; npm run down removes it`;
  const r = host.run("crontab", ["-l"]);
  if (r.status === null)
    return fail(
      name,
      "the crontab command is not installed (the dev backup job needs it)",
      "apt install cron (macOS has it)",
    );
  const lines = r.status === 0 ? r.stdout.split("\n").filter((l) => l.trim() && !l.startsWith("#")).length : 0;
  return ok(name, `${what} (${lines} entr${lines === 1 ? "y" : "ies"} there now)`);
}

/** One line per check: `ok   name: detail`, `WARN name: detail — fix: …`, `FAIL name: detail — fix: …`. */
export function formatCheck(result: CheckResult): string {
  const tag = { ok: "ok  ", warn: "WARN", fail: "FAIL" }[result.status];
  return `${tag} ${result.name}: ${result.detail}${result.fix ? ` — fix: ${result.fix}` : ""}`;
}

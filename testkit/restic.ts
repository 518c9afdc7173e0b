/**
 * A system's host folders and an off-site restic repository for the off-site backup tests and bench: the
 * uploads, ACME store and config a nightly run copies, the env and paths files the Backup component writes,
 * a real `rclone serve restic` on loopback, and restic itself to read what the repository holds.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { offsiteEnvFile, offsitePathsFile } from "../components/backupOffsite";

/** Whether the Debian restic (and rclone, for the REST server) are installed. */
export function hasRestic(): boolean {
  return spawnSync("restic", ["version"]).status === 0;
}
export function hasRclone(): boolean {
  return spawnSync("rclone", ["version"]).status === 0;
}

/** The folders of one system on a host, under `root` (as /root/ems_system/data and /root/infra are on the VPS). */
export interface SystemFolders {
  root: string;
  backups: string;
  uploads: Record<string, string>;
  acme: string;
  config: string;
  state: string;
  logs: string;
}

export function systemFolders(root: string): SystemFolders {
  const f: SystemFolders = {
    root,
    backups: path.join(root, "data/backups"),
    uploads: { ems: path.join(root, "data/uploads/ems"), sms: path.join(root, "data/uploads/sms") },
    acme: path.join(root, "infra/letsencrypt"),
    config: path.join(root, "infra/traefik/dynamic"),
    state: path.join(root, "data/offsite"),
    logs: path.join(root, "data/logs"),
  };
  for (const dir of [f.backups, ...Object.values(f.uploads), f.acme, f.config, f.logs])
    fs.mkdirSync(dir, { recursive: true });
  return f;
}

/** Writes uploads (name → content) under a service's folder, sub-folders included. */
export function writeUploads(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
}

/** Every file under `dir` as relative path → sha256 and mode. */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const mode = (fs.statSync(p).mode & 0o777).toString(8);
        out[path.relative(dir, p)] = `${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")} ${mode}`;
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** The env file and paths file as the Backup component writes them, into `dir`; returns the environment. */
export function offsiteEnvironment(
  f: SystemFolders,
  repository: { repository: string; password: string; env?: Record<string, string> },
  dir: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const envFile = path.join(dir, "offsite.env");
  fs.writeFileSync(envFile, offsiteEnvFile(repository), { mode: 0o600 });
  const pathsFile = path.join(dir, "offsite.paths");
  fs.writeFileSync(
    pathsFile,
    offsitePathsFile([
      ...Object.values(f.uploads).map((p) => ({ kind: "uploads" as const, path: p })),
      { kind: "acme", path: f.acme },
      { kind: "config", path: f.config },
    ]),
  );
  return {
    BACKUP_DIR: f.backups,
    OFFSITE_ENV: envFile,
    OFFSITE_PATHS: pathsFile,
    OFFSITE_STATE: f.state,
    OFFSITE_HOST: "ems_system",
    ...extra,
  };
}

/** Runs restic against a repository; throws on failure. */
export function restic(repository: string, password: string, args: string[]): string {
  const r = spawnSync("restic", ["--no-cache", ...args], {
    env: { ...process.env, RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: password, TZ: "UTC" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`restic ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

export interface SnapshotInfo {
  id: string;
  short_id: string;
  time: string;
  tags?: string[];
  paths: string[];
  hostname: string;
}

export function snapshots(repository: string, password: string): SnapshotInfo[] {
  return JSON.parse(restic(repository, password, ["snapshots", "--json"])) as SnapshotInfo[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A free loopback port nothing listens on (for an unreachable repository). */
export const closedPort = freePort;

/** `rclone serve restic` on 127.0.0.1 over `dir`: a real REST repository server. */
export interface RestServer {
  url: string;
  stop(): void;
}

export async function startRestServer(dir: string): Promise<RestServer> {
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn("rclone", ["serve", "restic", "--addr", `127.0.0.1:${port}`, dir], {
    stdio: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `rest:http://127.0.0.1:${port}/`,
    stop: () => {
      child.kill("SIGKILL");
    },
  };
}

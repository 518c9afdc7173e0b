/**
 * Throwaway PostgreSQL server for one test file.
 *
 * `initdb` into a fresh temp folder, start it with `pg_ctl` on a free port on 127.0.0.1 with the unix
 * socket in the same folder, and hand back the libpq environment (PGHOST/PGPORT/PGUSER...) that makes
 * `psql`, `pg_dump` & co. reach it. Works on a fresh CI machine where only the Debian `postgresql`
 * package is installed (no cluster of ours running): as root the server binaries run as the
 * `postgres` OS user, since PostgreSQL refuses to run as root.
 *
 * Authentication: unix socket = trust (scripts connect without passwords, like `docker exec` into the
 * official image), TCP = scram-sha-256 (so a password check over 127.0.0.1 is a real check).
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { suiteIfAvailable } from "./skip";

export interface PgServer {
  /** TCP port (also the number in the unix socket name). */
  port: number;
  /** What PGHOST is set to: the folder holding the unix socket. */
  host: string;
  /** Address the server listens on over TCP (password auth, scram-sha-256). */
  tcpHost: string;
  /** Bootstrap superuser. */
  user: string;
  /** Password of `user` (only needed over TCP). */
  password: string;
  /** Folder of the server/client binaries used (same major version for client and server). */
  bindir: string;
  /** Server log file (what the server logged, e.g. statements when `log_statement=all`). */
  logFile: string;
  /** Environment for child processes: PATH with `bindir` first, PGHOST/PGPORT/PGUSER/PGDATABASE, PGTZ=UTC. */
  env: NodeJS.ProcessEnv;
  /** Runs SQL (fed on stdin, ON_ERROR_STOP) through psql as the superuser; returns unaligned, tuples-only output. */
  psql(sql: string, database?: string): string;
  /** Stops the server (immediate) and deletes its folder. Safe to call twice. */
  stop(): void;
}

export interface StartOptions {
  /** Extra postgresql.conf settings, e.g. `{ log_statement: "all" }`. */
  conf?: Record<string, string>;
}

const SUPERUSER = "postgres";

/** Newest `/usr/lib/postgresql/<major>/bin` holding initdb, else `pg_config --bindir`, else PATH. `PG_BINDIR` overrides. */
function findBindir(): string {
  const has = (dir: string) => fs.existsSync(path.join(dir, "initdb")) && fs.existsSync(path.join(dir, "pg_ctl"));
  if (process.env.PG_BINDIR) {
    if (!has(process.env.PG_BINDIR)) throw new Error(`PG_BINDIR=${process.env.PG_BINDIR} holds no initdb/pg_ctl`);
    return process.env.PG_BINDIR;
  }
  const root = "/usr/lib/postgresql";
  if (fs.existsSync(root)) {
    const majors = fs
      .readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v) && has(path.join(root, v, "bin")))
      .sort((a, b) => parseFloat(b) - parseFloat(a));
    if (majors.length > 0) return path.join(root, majors[0], "bin");
  }
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (has(dir)) return dir;
  } catch {
    /* no pg_config */
  }
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && has(dir)) return dir;
  throw new Error("PostgreSQL server binaries not found (install the `postgresql` package or set PG_BINDIR)");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a server binary: directly, or as the `postgres` OS user when we are root. */
function runServerBinary(bin: string, args: string[], timeoutMs = 60_000): { status: number | null; output: string } {
  let cmd = bin;
  let argv = args;
  if (isRoot) {
    if (fs.existsSync("/usr/sbin/runuser") || fs.existsSync("/sbin/runuser") || fs.existsSync("/usr/bin/runuser")) {
      cmd = "runuser";
      argv = ["-u", SUPERUSER, "--", bin, ...args];
    } else {
      const quoted = [bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
      cmd = "su";
      argv = ["-s", "/bin/sh", SUPERUSER, "-c", quoted];
    }
  }
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, LC_ALL: "C" } });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** Why PostgreSQL's server binaries cannot be used here (empty when they can). */
function postgresUnavailableReason(): string {
  try {
    findBindir();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

/** `describe` and `test` for the top-level blocks of a file that starts PostgreSQL (see `describeWithPostgres`). */
export function postgresSuite(suite: string): { describe: typeof describe; test: typeof test } {
  return suiteIfAvailable("PostgreSQL", postgresUnavailableReason(), suite);
}

export async function startPostgres(options: StartOptions = {}): Promise<PgServer> {
  const bindir = findBindir();
  // As root the folder must be reachable by the `postgres` user: /tmp is world-traversable, a
  // TMPDIR under /root would not be.
  const base = isRoot ? "/tmp" : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, "ems-pg-"));
  const data = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  const password = crypto.randomBytes(12).toString("hex");
  const pwfile = path.join(dir, "pwfile");
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  fs.writeFileSync(logFile, "");

  if (isRoot) {
    let uid: number;
    let gid: number;
    try {
      uid = Number(execFileSync("id", ["-u", SUPERUSER], { encoding: "utf8" }).trim());
      gid = Number(execFileSync("id", ["-g", SUPERUSER], { encoding: "utf8" }).trim());
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error("running as root but there is no `postgres` OS user to run the server as");
    }
    for (const p of [dir, pwfile, logFile]) fs.chownSync(p, uid, gid);
  }
  fs.chmodSync(dir, 0o700);

  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });

  const init = runServerBinary(path.join(bindir, "initdb"), [
    "-D",
    data,
    "-U",
    SUPERUSER,
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--no-locale",
    "--no-sync",
  ]);
  if (init.status !== 0) {
    cleanup();
    throw new Error(`initdb failed (status ${init.status}):\n${init.output}`);
  }

  const conf: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    password_encryption: "'scram-sha-256'",
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    wal_level: "minimal",
    max_wal_senders: "0",
    max_connections: "40",
    shared_buffers: "32MB",
    dynamic_shared_memory_type: "mmap",
    logging_collector: "off",
    TimeZone: "'UTC'",
    ...options.conf,
  };
  // Appending keeps the file's owner (postgres) intact.
  fs.appendFileSync(
    path.join(data, "postgresql.conf"),
    "\n# test/support/postgres.ts\n" +
      Object.entries(conf)
        .map(([k, v]) => `${k} = ${v}`)
        .join("\n") +
      "\n",
  );

  // The port is only known free a moment before the server binds it: retry on a lost race.
  let port = 0;
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    const start = runServerBinary(path.join(bindir, "pg_ctl"), [
      "start",
      "-w",
      "-t",
      "60",
      "-D",
      data,
      "-l",
      logFile,
      "-o",
      `-p ${port}`,
    ]);
    if (start.status === 0) {
      lastError = "";
      break;
    }
    lastError = `${start.output}\n${fs.readFileSync(logFile, "utf8")}`;
    if (
      !/could not bind|address already in use|could not create any TCP\/IP sockets|lock file .* already exists/i.test(
        lastError,
      )
    )
      break;
  }
  if (lastError) {
    runServerBinary(path.join(bindir, "pg_ctl"), ["stop", "-D", data, "-m", "immediate"]);
    cleanup();
    throw new Error(`pg_ctl start failed:\n${lastError}`);
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("PG")) delete env[k];
  Object.assign(env, {
    PATH: `${bindir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    PGHOST: dir,
    PGPORT: String(port),
    PGUSER: SUPERUSER,
    PGDATABASE: "postgres",
    PGTZ: "UTC",
    PGCONNECT_TIMEOUT: "10",
  });

  let stopped = false;
  const server: PgServer = {
    port,
    host: dir,
    tcpHost: "127.0.0.1",
    user: SUPERUSER,
    password,
    bindir,
    logFile,
    env,
    psql(sql: string, database = "postgres"): string {
      return execFileSync(
        path.join(bindir, "psql"),
        ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", database],
        {
          env,
          input: sql,
          encoding: "utf8",
        },
      ).replace(/\n$/, "");
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      runServerBinary(path.join(bindir, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"]);
      cleanup();
    },
  };
  return server;
}

/** Folder of the shell scripts under test. */
export const SCRIPTS_DIR = path.resolve(__dirname, "../../components/scripts");

export interface ScriptResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `components/scripts/<script>` with `shell` (default `sh`, i.e. dash on Debian: the strictest
 * shell the scripts meet in production), waiting for it to end.
 */
export function runScript(
  script: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; input?: string; shell?: string; timeoutMs?: number } = {},
): ScriptResult {
  const r = spawnSync(options.shell ?? "sh", [path.join(SCRIPTS_DIR, script), ...args], {
    env: options.env ?? process.env,
    input: options.input ?? "",
    encoding: "utf8",
    timeout: options.timeoutMs ?? 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The committed ems-run binary (components/probe), run on this host: it is reproducible from its source,
 * the launcher loads the secrets file strictly and execs the command, and the probe sends the key and
 * accepts only 200, within its time bound, without ever printing the key.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { EMS_RUN_BINARY } from "../../components/probe";

const BUILD = path.join(__dirname, "..", "..", "components", "probe", "build.sh");
const KEY = "k3y-0f-the-ems-api-8f1d2c";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ems-run-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  pid: number;
}

/** Runs the binary without blocking the event loop (the test's HTTP servers must keep answering). */
function emsRun(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(EMS_RUN_BINARY, args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(killer);
      resolve({
        status,
        stdout,
        stderr,
        ms: Date.now() - started,
        pid: child.pid ?? -1,
      });
    });
  });
}

let n = 0;
function secretsFile(content: string | Buffer): string {
  const file = path.join(tmp, `secrets-${n++}.env`);
  fs.writeFileSync(file, content);
  return file;
}

function envLines(stdout: string): string[] {
  return stdout.split("\n").filter(Boolean);
}

describe("build", () => {
  test("build.sh reproduces the committed binary byte for byte", () => {
    const out = path.join(tmp, "rebuilt");
    const r = spawnSync("bash", [BUILD, out], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr + r.stdout).toContain("built");
    expect(r.status).toBe(0);
    const same = fs.readFileSync(out).equals(fs.readFileSync(EMS_RUN_BINARY));
    if (!same)
      throw new Error(
        "components/probe/ems-run.amd64 is not the build of ems-run.c: run components/probe/build.sh and commit the binary",
      );
  });

  test("the binary is a static x86_64 ELF executable with no interpreter", () => {
    const elf = fs.readFileSync(EMS_RUN_BINARY);
    expect(elf.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(elf.readUInt16LE(18)).toBe(62); // EM_X86_64
    expect(elf.includes(Buffer.from("ld-linux"))).toBe(false);
    expect(fs.statSync(EMS_RUN_BINARY).mode & 0o111).not.toBe(0);
    expect(elf.length).toBeLessThan(64 * 1024);
  });

  test("build.sh passes shellcheck", () => {
    const r = spawnSync("shellcheck", [BUILD], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("launcher", () => {
  test("adds the file's variables, overriding the environment's, keeps values with = and spaces, and execs in place", async () => {
    const file = secretsFile("JWT_KEY=jwt=with=equals\n\n# a comment\nDB_PASS=p a s s\nAPI_KEY=from-file\nEMPTY=\n");
    const r = await emsRun(["/bin/sh", "-c", 'echo "pid=$$"; /usr/bin/env'], {
      EMS_RUN_SECRETS: file,
      API_KEY: "from-env",
      DB_HOST: "postgres",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = envLines(r.stdout);
    expect(lines).toEqual(
      expect.arrayContaining([
        "JWT_KEY=jwt=with=equals",
        "DB_PASS=p a s s",
        "API_KEY=from-file",
        "EMPTY=",
        "DB_HOST=postgres",
      ]),
    );
    expect(lines.filter((l) => l.startsWith("API_KEY="))).toEqual(["API_KEY=from-file"]);
    // execve, not fork: the command has ems-run's PID (PID 1 in the container).
    expect(lines[0]).toBe(`pid=${r.pid}`);
  });

  test("the last line wins when a name repeats", async () => {
    const file = secretsFile("API_KEY=first\nAPI_KEY=second");
    const r = await emsRun(["/usr/bin/env"], { EMS_RUN_SECRETS: file });
    expect(envLines(r.stdout).filter((l) => l.startsWith("API_KEY="))).toEqual(["API_KEY=second"]);
  });

  test("a missing secrets file is not an error", async () => {
    const r = await emsRun(["/usr/bin/env"], {
      EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
      KEEP: "1",
    });
    expect(r.status).toBe(0);
    expect(envLines(r.stdout)).toContain("KEEP=1");
  });

  test.each([
    ["a lowercase name", "GOOD=1\nbad_name=SECRETVALUE\n", 2],
    ["no =", "GOOD=1\nGOOD=2\nSECRETVALUE\n", 3],
    ["an empty name", "=SECRETVALUE\n", 1],
    ["a space before =", "NAME =SECRETVALUE\n", 1],
    ["a name starting with a digit", "1NAME=SECRETVALUE\n", 1],
    ["CRLF line ends", "A=1\r\nB=SECRETVALUE\r\n", 1],
    ["a NUL byte", "A=1\nB=SECRET\0VALUE\n", 2],
  ])("refuses %s: exit 1 naming the line, never the value", async (_what, content, line) => {
    const file = secretsFile(content);
    const r = await emsRun(["/usr/bin/env"], { EMS_RUN_SECRETS: file });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${file} line ${line}:`);
    expect(r.stderr).not.toContain("SECRET");
  });

  test("a command that cannot be executed exits 127 with the reason", async () => {
    const missing = await emsRun(["/app/bin/server"], {
      EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
    });
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain("cannot execute /app/bin/server: no such file or directory");
    const notExecutable = secretsFile("A=1\n");
    const denied = await emsRun([notExecutable], {
      EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
    });
    expect(denied.status).toBe(127);
    expect(denied.stderr).toContain("permission denied");
  });

  test("no command is a usage error", async () => {
    const r = await emsRun([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: ems-run CMD");
  });
});

describe("probe", () => {
  let server: http.Server;
  let port = 0;
  const seenKeys: (string | undefined)[] = [];
  const hung: net.Socket[] = [];
  let hangServer: net.Server;
  let hangPort = 0;

  beforeAll(async () => {
    // Like the real server: the key is checked for every path, /api/v1/health answers 200 with it.
    server = http.createServer((req, res) => {
      seenKeys.push(req.headers["x-api-key"] as string | undefined);
      const status =
        { "/limited": 403, "/broken": 500 }[req.url ?? ""] ?? (req.headers["x-api-key"] === KEY ? 200 : 401);
      if (req.url === "/slow") return void setTimeout(() => res.end(), 10_000).unref();
      res.writeHead(status, { "content-type": "application/health+json" });
      res.end("{status: ok, version: 1.2.1, env: production}");
    });
    hangServer = net.createServer((s) => hung.push(s)); // accepts and never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => hangServer.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
    hangPort = (hangServer.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    hung.forEach((s) => s.destroy());
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => hangServer.close(r));
  });

  const keyFile = () => secretsFile(`JWT_KEY=j\nAPI_KEY=${KEY}\n`);

  test("200 with the key from the secrets file: exit 0, the status printed, the key never", async () => {
    const r = await emsRun(["--probe", String(port), "/api/v1/health"], {
      EMS_RUN_SECRETS: keyFile(),
    });
    expect(r.stdout).toBe(`ems-run: probe http://127.0.0.1:${port}/api/v1/health -> 200\n`);
    expect(r.status).toBe(0);
    expect(seenKeys.at(-1)).toBe(KEY);
    expect(r.stdout + r.stderr).not.toContain(KEY);
  });

  test("falls back to API_KEY from the environment when the file has none", async () => {
    const r = await emsRun(["--probe", String(port), "/api/v1/health"], {
      EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
      API_KEY: KEY,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("-> 200");
  });

  test("the file's key wins over the environment's", async () => {
    const r = await emsRun(["--probe", String(port), "/api/v1/health"], {
      EMS_RUN_SECRETS: keyFile(),
      API_KEY: "stale-key",
    });
    expect(r.status).toBe(0);
    expect(seenKeys.at(-1)).toBe(KEY);
  });

  test.each([
    ["a wrong key (401)", "/api/v1/health", "wrong-key", "-> 401"],
    ["the rate limit (403)", "/limited", KEY, "-> 403"],
    ["a server error (500)", "/broken", KEY, "-> 500"],
  ])("%s: exit 1", async (_what, urlPath, key, shown) => {
    const r = await emsRun(["--probe", String(port), urlPath], {
      EMS_RUN_SECRETS: secretsFile(`API_KEY=${key}\n`),
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`ems-run: probe http://127.0.0.1:${port}${urlPath} ${shown}\n`);
    expect(r.stdout + r.stderr).not.toContain(key);
  });

  test.each([
    ["the shared rate limit (403): the server is up", "/limited", KEY, 0, "-> 403 (rate limited: the server is up)"],
    ["a wrong key (401)", "/api/v1/health", "wrong-key", 1, "-> 401"],
    ["a server error (500)", "/broken", KEY, 1, "-> 500"],
  ])("--accept-rate-limited, %s", async (_what, urlPath, key, status, shown) => {
    const r = await emsRun(["--probe", String(port), urlPath, "--accept-rate-limited"], {
      EMS_RUN_SECRETS: secretsFile(`API_KEY=${key}\n`),
    });
    expect(r.status).toBe(status);
    expect(r.stdout).toBe(`ems-run: probe http://127.0.0.1:${port}${urlPath} ${shown}\n`);
  });

  test("--no-key probes a public route without sending any x-api-key, even when one is configured", async () => {
    const before = seenKeys.length;
    const r = await emsRun(["--probe", String(port), "/limited", "--no-key", "--accept-rate-limited"], {
      EMS_RUN_SECRETS: keyFile(),
    });
    expect(r.status).toBe(0);
    expect(seenKeys.slice(before)).toEqual([undefined]);
    const refused = await emsRun(["--probe", String(port), "/api/v1/health", "--no-key"], {
      EMS_RUN_SECRETS: keyFile(),
    });
    expect(refused.stdout).toContain("-> 401");
  });

  test("an unknown trailing probe option is refused (exit 1, a failed probe for Docker)", async () => {
    const r = await emsRun(["--probe", String(port), "/api/v1/health", "--accept-everything"], { API_KEY: KEY });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain("--accept-rate-limited");
  });

  test("a refused connection: exit 1", async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const free = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await emsRun(["--probe", String(free), "/api/v1/health"], {
      API_KEY: KEY,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("-> connection refused");
  });

  test.each([
    ["accepts and never answers", () => hangPort, "/api/v1/health"],
    ["answers after 10 s", () => port, "/slow"],
  ])(
    "a server that %s: exit 1 within the ~4 s bound",
    async (_what, serverPort, urlPath) => {
      const r = await emsRun(["--probe", String(serverPort()), urlPath], {
        API_KEY: KEY,
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/-> timeout/);
      expect(r.ms).toBeGreaterThanOrEqual(3_500);
      expect(r.ms).toBeLessThan(6_500);
    },
    20_000,
  );

  test("no key anywhere: exit 1 without connecting", async () => {
    const before = seenKeys.length;
    const r = await emsRun(["--probe", String(port), "/api/v1/health"], {
      EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no API_KEY");
    expect(seenKeys.length).toBe(before);
  });

  test.each([
    ["0", "/api/v1/health", "PORT must be 1-65535"],
    ["65536", "/api/v1/health", "PORT must be 1-65535"],
    ["80a", "/api/v1/health", "PORT must be 1-65535"],
    ["", "/api/v1/health", "PORT must be 1-65535"],
    ["8181", "api/v1/health", "PATH must start with /"],
    ["8181", "/api/v1/health HTTP/1.1\r\nx: y", "PATH must not contain"],
    ["8181", "/a b", "PATH must not contain"],
    ["8181", "/a\nb", "PATH must not contain"],
  ])("refuses port %j path %j", async (p, urlPath, message) => {
    const r = await emsRun(["--probe", p, urlPath], { API_KEY: KEY });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
  });
});

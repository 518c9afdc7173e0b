/**
 * ems-run against hostile input: the committed binary refuses malformed status lines, a FIFO at the secrets
 * path and an oversized API_KEY from the environment; and ems-run.c built hosted with
 * -fsanitize=address,undefined is fuzzed for a bounded number of cases (secrets files, HTTP answers, argv),
 * each case from a seeded generator so a failure replays. A sanitizer report, a crash or an unexpected exit
 * code fails the case, named by its number.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { EMS_RUN_BINARY } from "../../components/probe";

const SOURCE = path.join(__dirname, "..", "..", "components", "probe", "ems-run.c");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ems-run-fuzz-"));
const SANITIZED = path.join(tmp, "ems-run-asan");
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Cases per input kind: enough to cover the generator's shapes several times, bounded for CI. */
const CASES = 60;

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function exec(binary: string, args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(killer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Mulberry32: a small seeded generator, so every case is the same on every run. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const text = (n: number, alphabet = "ABCXYZ_=az09 #\t\\\"'$") =>
    Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join("");
  return { int, pick, bytes, text };
}

/** A sanitizer's report, or a signal, in a run's output. */
function sanitizerTrouble(r: Result): string | undefined {
  if (r.signal) return `killed by ${r.signal}`;
  const m = /(ERROR: AddressSanitizer[^\n]*|runtime error:[^\n]*|SUMMARY: \w+Sanitizer[^\n]*)/.exec(r.stderr);
  return m?.[1];
}

/** One HTTP answer per connection, in order, then the connection closes. */
async function answeringServer(): Promise<{ port: number; next: (b: Buffer) => void; close: () => Promise<void> }> {
  let payload: Buffer = Buffer.alloc(0);
  const server = net.createServer((s) => {
    s.on("error", () => undefined);
    s.once("data", () => s.end(payload));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: (b) => (payload = b),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

let http: Awaited<ReturnType<typeof answeringServer>>;
beforeAll(async () => {
  const cc = spawnSync(
    "gcc",
    [
      "-std=c11",
      "-g",
      "-O1",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-fsanitize=address,undefined",
      "-fno-sanitize-recover=all",
      "-fno-omit-frame-pointer",
      "-DEMS_RUN_HOSTED",
      "-o",
      SANITIZED,
      SOURCE,
    ],
    { encoding: "utf8" },
  );
  if (cc.status !== 0) throw new Error(`gcc -fsanitize=address,undefined failed:\n${cc.stderr}`);
  http = await answeringServer();
}, 60_000);
afterAll(() => http?.close());

const SANITIZER_ENV = { ASAN_OPTIONS: "detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS: "print_stacktrace=1" };

describe("the committed binary", () => {
  test.each([
    ["HTTP/1.1 200 OK\r\n\r\n", 0],
    ["HTTP/1.0 200 OK\r\n\r\n", 0],
    ["HTTP/1.1 2000 OK\r\n\r\n", 1],
    ["HTTP/1.X 200 OK\r\n\r\n", 1],
    ["HTTP/1.2 200 OK\r\n\r\n", 1],
    ["HTTP/1.1 200\r\n\r\n", 1],
    ["HTTP/2 200 OK\r\n\r\n", 1],
    ["http/1.1 200 OK\r\n\r\n", 1],
    ["HTTP/1.1 200", 1],
  ])("status line %j: exit %d", async (answer, code) => {
    http.next(Buffer.from(answer));
    const r = await exec(EMS_RUN_BINARY, ["--probe", String(http.port), "/api/v1/health", "--no-key"], {});
    expect(r.status).toBe(code);
    if (code === 1) expect(r.stdout).toContain("not an HTTP answer");
  });

  test("a FIFO at the secrets path: refused at once, for the launcher and the probe (no writer ever comes)", async () => {
    const fifo = path.join(tmp, "secrets.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    for (const args of [["/bin/true"], ["--probe", String(http.port), "/api/v1/health"]]) {
      const r = await exec(EMS_RUN_BINARY, args, { EMS_RUN_SECRETS: fifo });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${fifo} is not a regular file`);
      expect(r.ms).toBeLessThan(2_000);
    }
  });

  test("an API_KEY of 100 000 bytes from the environment is refused, not copied into a fixed buffer", async () => {
    const r = await exec(EMS_RUN_BINARY, ["--probe", String(http.port), "/api/v1/health"], {
      API_KEY: "k".repeat(100_000),
      EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
    });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("API_KEY is longer than 1024 bytes");
  });

  test("the launcher's time limit does not follow the command: a command running past it is not killed", async () => {
    const r = await exec(EMS_RUN_BINARY, ["/bin/sleep", "11"], { EMS_RUN_SECRETS: path.join(tmp, "absent.env") });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  }, 20_000);
});

describe(`ems-run built with -fsanitize=address,undefined, ${CASES} cases per input`, () => {
  test("secrets files: valid, oversized, NUL/CR, bad names, too many variables, random bytes", async () => {
    const g = generator(16);
    for (let i = 0; i < CASES; i++) {
      const shape = i % 6;
      let content: Buffer;
      if (shape === 0) content = Buffer.from(`API_KEY=${g.text(g.int(3000))}\nJWT_KEY=x\n# c\n\n`);
      else if (shape === 1) content = Buffer.from(`A=${"v".repeat(60_000 + g.int(10_000))}\n`);
      else if (shape === 2)
        content = Buffer.from(Array.from({ length: 1000 + g.int(200) }, (_, k) => `V${k}=${k}\n`).join(""));
      else if (shape === 3) content = Buffer.concat([Buffer.from("A=1\n"), g.bytes(g.int(2000))]);
      else if (shape === 4) content = Buffer.from(`${g.text(g.int(80))}\n${g.text(g.int(80))}`);
      else content = Buffer.from(`A=b\r\nC=${g.text(10)}\u0000d\n`);
      const file = path.join(tmp, `secrets-${i}.env`);
      fs.writeFileSync(file, content);
      const r = await exec(SANITIZED, ["/bin/true"], { ...SANITIZER_ENV, EMS_RUN_SECRETS: file });
      expect({ case: i, trouble: sanitizerTrouble(r), status: [0, 1].includes(r.status ?? -1) }).toEqual({
        case: i,
        trouble: undefined,
        status: true,
      });
      if (shape === 0) expect({ case: i, status: r.status }).toEqual({ case: i, status: 0 });
    }
  }, 120_000);

  test("HTTP answers: random bytes, cut and malformed status lines, huge answers; exit 0 only for HTTP/1.[01] 200", async () => {
    const g = generator(1616);
    const lines = [
      "HTTP/1.1 200 OK",
      "HTTP/1.0 200 ",
      "HTTP/1.1 2000",
      "HTTP/1.X 200 ",
      "HTTP/1.1 20",
      "HTTP/1.1 500 E",
    ];
    for (let i = 0; i < CASES; i++) {
      const shape = i % 4;
      let answer: Buffer;
      if (shape === 0) answer = g.bytes(g.int(200));
      else if (shape === 1) answer = Buffer.from(g.pick(lines).slice(0, 5 + g.int(12)));
      else if (shape === 2) answer = Buffer.concat([Buffer.from(`${g.pick(lines)}\r\n`), g.bytes(g.int(200_000))]);
      else answer = Buffer.from(`${g.pick(lines)}\r\nx: ${g.text(g.int(5000))}\r\n\r\n`);
      http.next(answer);
      const key = g.int(3) === 0 ? "k".repeat(g.int(4000)) : "a-key";
      const r = await exec(SANITIZED, ["--probe", String(http.port), `/${g.text(g.int(60), "abc/")}`], {
        ...SANITIZER_ENV,
        API_KEY: key,
        EMS_RUN_SECRETS: path.join(tmp, "absent.env"),
      });
      const ok = /^HTTP\/1\.[01] 200 /.test(answer.toString("latin1")) && key.length > 0 && key.length <= 1024;
      expect({ case: i, trouble: sanitizerTrouble(r), status: r.status }).toEqual({
        case: i,
        trouble: undefined,
        status: ok ? 0 : 1,
      });
    }
  }, 120_000);

  test("argv: random commands, options, ports and paths of any length", async () => {
    const g = generator(161616);
    const words = ["--probe", "--no-key", "--accept-rate-limited", "", "/", "0", "65535", "99999999999999999999"];
    for (let i = 0; i < CASES; i++) {
      const args = Array.from({ length: g.int(6) }, () =>
        g.int(2) === 0 ? g.pick(words) : g.text(g.int(i % 5 === 0 ? 5000 : 40), "-/azAZ09 \t\r\n:?"),
      );
      // A probe goes to this test's own server only; anything else is a command that cannot be executed.
      if (args[0] === "--probe" && args.length > 1 && /^\d+$/.test(args[1])) args[1] = String(http.port);
      if (args[0] !== "--probe" && args.length > 0) args[0] = `/nonexistent/${args[0]}`;
      http.next(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"));
      const r = await exec(SANITIZED, args, { ...SANITIZER_ENV, EMS_RUN_SECRETS: path.join(tmp, "absent.env") });
      expect({ case: i, trouble: sanitizerTrouble(r), status: [0, 1, 2, 127].includes(r.status ?? -1) }).toEqual({
        case: i,
        trouble: undefined,
        status: true,
      });
    }
  }, 120_000);
});

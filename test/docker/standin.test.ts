/**
 * The stand-in images (test/support/images/standin-server.c) behave like the real EMS/SMS servers in what
 * the infrastructure relies on (real-system.md §1.1-1.2): the required env in the real order, the compiled-in
 * port, x-api-key on every path, one global 20 req/min bucket checked first, uploads under UPLOAD_PATH, the
 * log file under $HOME, SIGTERM ignored, no shell in the image. The other API tests trust these images.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import {
  buildTestImages,
  containerIp,
  describeWithDocker,
  docker,
  DockerScratch,
  httpTo,
  IMAGES,
  inspect,
  run,
  SERVER_REQUIRED_ENV,
} from "../support";

const REQUIRED = SERVER_REQUIRED_ENV;
const KEY = "standin-api-key-3c9f1e";
const ENV: Record<string, string> = {
  JWT_KEY: "jwt-key-for-the-standin-test-0123456789",
  VERIFICATION_LINK_BASE_URL: "https://api.ems.local/api/v1/auth/verify",
  DB_HOST: "ems_system-postgres",
  DB_PORT: "5432",
  DB_USER: "ems_user",
  DB_PASS: "db-pass",
  DB_NAME: "ems",
  API_KEY: KEY,
};
const envArgs = (env: Record<string, string>) => Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the port accepts connections (a bare connect is no request: it does not use the rate limit). */
async function listening(host: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port, timeout: 1_000 }, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
      s.on("timeout", () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} does not accept connections`);
    await sleep(200);
  }
}

describeWithDocker("the stand-in EMS/SMS servers", () => {
  const scratch = new DockerScratch("standin");
  let network = "";

  beforeAll(() => {
    buildTestImages();
    network = scratch.network({ name: "standin" });
  }, 180_000);
  afterAll(() => scratch.cleanup(), 60_000);

  /** `docker run -d` of an image on the test network; returns its name and address. */
  function runServer(image: string, env: Record<string, string>, extra: string[] = []): { name: string; ip: string } {
    const name = scratch.rename(`srv${Math.random().toString(16).slice(2, 8)}`);
    scratch.track(name);
    docker(["run", "-d", "--name", name, "--network", network, ...envArgs(env), ...extra, image]);
    return { name, ip: containerIp(name, network) };
  }

  test("the first missing variable, in the real server's order, stops it with exit 1 naming it", () => {
    for (let i = 0; i < REQUIRED.length; i++) {
      const env = Object.fromEntries(REQUIRED.slice(0, i).map((k) => [k, ENV[k]]));
      const r = run("docker", ["run", "--rm", ...envArgs(env), IMAGES.ems], {
        timeoutMs: 30_000,
      });
      expect({ name: REQUIRED[i], status: r.status }).toEqual({
        name: REQUIRED[i],
        status: 1,
      });
      expect(r.stderr).toContain(`${REQUIRED[i]} is required but not set in environment`);
    }
    const r = run("docker", ["run", "--rm", ...envArgs({ ...ENV, DB_PORT: "five" }), IMAGES.sms], {
      timeoutMs: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FormatException");
  }, 120_000);

  test("health needs the key; one bucket of 20 requests a minute for every path and client, checked first", async () => {
    const { ip } = runServer(IMAGES.ems, { ...ENV, ENV: "development" });
    await listening(ip, 8181);
    const noKey = await httpTo(ip, 8181, { path: "/api/v1/health" });
    expect(noKey.status).toBe(401);
    expect(
      (
        await httpTo(ip, 8181, {
          path: "/api/v1/health",
          headers: { "x-api-key": "wrong" },
        })
      ).status,
    ).toBe(401);
    const ok = await httpTo(ip, 8181, {
      path: "/api/v1/health",
      headers: { "x-api-key": KEY },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers["content-type"]).toBe("application/health+json");
    // A Dart Map.toString, not JSON; ENV (set here) wins over the image's ENV=production; APP_VERSION is the image's.
    expect(ok.body).toBe("{status: ok, version: 1.2.1, env: development}");
    expect(
      (
        await httpTo(ip, 8181, {
          path: "/api/v1/nothing",
          headers: { "x-api-key": KEY },
        })
      ).status,
    ).toBe(404);
    // 4 requests so far; 16 more are allowed, whatever the path or key.
    for (let i = 0; i < 16; i++)
      expect((await httpTo(ip, 8181, { path: i % 2 ? "/api/v1/health" : "/x" })).status).toBe(401);
    expect(
      (
        await httpTo(ip, 8181, {
          path: "/api/v1/health",
          headers: { "x-api-key": KEY },
        })
      ).status,
    ).toBe(403);
    expect((await httpTo(ip, 8181, { path: "/x" })).status).toBe(403);
    // It listens on its compiled-in port only; the SMS stand-in on 8080.
    await expect(httpTo(ip, 8080, { path: "/api/v1/health" }, 2_000)).rejects.toThrow();
  }, 60_000);

  test("the SMS stand-in listens on 8080 whatever PORT or SERVER_PORT say", async () => {
    const { ip } = runServer(IMAGES.sms, {
      ...ENV,
      PORT: "9999",
      SERVER_PORT: "9999",
    });
    await listening(ip, 8080);
    const ok = await httpTo(ip, 8080, {
      path: "/api/v1/health",
      headers: { "x-api-key": KEY },
    });
    expect(ok.body).toBe("{status: ok, version: 1.1.0, env: production}");
  }, 30_000);

  test("uploads land in UPLOAD_PATH and every request is logged to $HOME/Documents/MeuAppDart/logs (bind mounts)", async () => {
    const uploads = scratch.dir("standin-uploads");
    const logs = scratch.dir("standin-logs");
    fs.writeFileSync(path.join(logs, "app_logs.txt"), "from the previous start\n");
    const { ip } = runServer(IMAGES.ems, { ...ENV, HOME: "/app", UPLOAD_PATH: "/app/uploads" }, [
      "--mount",
      `type=bind,source=${uploads},target=/app/uploads`,
      "--mount",
      `type=bind,source=${logs},target=/app/Documents/MeuAppDart/logs`,
    ]);
    await listening(ip, 8181);
    const content = Buffer.from("%PDF-1.4 caderno\n");
    const up = await httpTo(ip, 8181, {
      method: "POST",
      path: "/api/v1/upload?name=caderno.pdf",
      headers: { "x-api-key": KEY, "content-length": String(content.length) },
      body: content,
    });
    expect(up.status).toBe(201);
    expect(fs.readFileSync(path.join(uploads, "caderno.pdf")).equals(content)).toBe(true);
    expect(
      (
        await httpTo(ip, 8181, {
          method: "POST",
          path: "/api/v1/upload?name=../escape",
          headers: { "x-api-key": KEY },
          body: "x",
        })
      ).status,
    ).toBe(400);
    const log = fs.readFileSync(path.join(logs, "app_logs.txt"), "utf8");
    expect(log).not.toContain("from the previous start"); // truncated at start, like the real log service
    expect(log).toMatch(/POST \/api\/v1\/upload 201/);
    expect(log).toMatch(/POST \/api\/v1\/upload 400/);
  }, 30_000);

  test("without HOME and UPLOAD_PATH it writes /Documents/MeuAppDart/logs and /uploads (cwd /), like the real image", async () => {
    const { name, ip } = runServer(IMAGES.ems, ENV);
    await listening(ip, 8181);
    await httpTo(ip, 8181, {
      method: "POST",
      path: "/api/v1/upload?name=a.txt",
      headers: { "x-api-key": KEY },
      body: "abc",
    });
    expect(docker(["cp", `${name}:/uploads/a.txt`, "-"])).toContain("abc");
    expect(docker(["cp", `${name}:/Documents/MeuAppDart/logs/app_logs.txt`, "-"])).toContain("POST /api/v1/upload 201");
  }, 30_000);

  test("SIGTERM is ignored: docker stop kills it after the grace (exit 137)", async () => {
    const { name, ip } = runServer(IMAGES.sms, ENV);
    await listening(ip, 8080);
    const started = Date.now();
    docker(["stop", "-t", "3", name], { timeoutMs: 30_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(inspect(name).State.ExitCode).toBe(137);
  }, 30_000);

  test("the bad versions: -exits stops with 3 after a migration error; -500 answers 500 on health", async () => {
    const r = run("docker", ["run", "--rm", ...envArgs(ENV), IMAGES.emsExits], {
      timeoutMs: 30_000,
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("migration");
    const { ip } = runServer(IMAGES.smsHealth500, ENV);
    await listening(ip, 8080);
    const h = await httpTo(ip, 8080, {
      path: "/api/v1/health",
      headers: { "x-api-key": KEY },
    });
    expect(h.status).toBe(500);
    expect(h.body).toContain("version: 9.0.1-500");
  }, 30_000);

  test("the images are FROM scratch: only /app/bin/server, no shell", () => {
    for (const image of [IMAGES.ems, IMAGES.sms]) {
      const r = run("docker", ["run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true"], { timeoutMs: 30_000 });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/no such file or directory/i);
      const config = inspect(image, "image").Config;
      expect(config.Cmd).toEqual(["/app/bin/server"]);
      expect(config.Entrypoint ?? null).toBeNull();
      expect(config.WorkingDir ?? "").toBe("");
    }
    const files = run("sh", ["-c", `docker save ${IMAGES.ems} | tar -xOf - --wildcards '*/layer.tar' | tar -tf -`]);
    expect(
      files.stdout
        .split("\n")
        .filter((f) => f && !f.endsWith("/"))
        .map((f) => f.replace(/^\.\//, "")),
    ).toEqual(["app/bin/server"]);
  }, 60_000);
});

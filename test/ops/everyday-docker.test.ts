/**
 * status, logs, the failed-deploy report and image retention against the real dockerd, on labelled containers. The
 * APIs are the stand-ins that log into PostgreSQL at start and exit 1 when refused (the `-pg` images, real-system.md
 * §6), against ems-test/postgres:15 on this run's network: one system runs, and a second one is what a deploy leaves
 * when an API starts with a password the server refuses, or before its database exists.
 */
import * as crypto from "crypto";
import { findContainers, reportUnhealthy } from "../../ops/containers";
import { captureOnHost, defaultHostShell, HostShell, HostTarget } from "../../ops/runner/hostShell";
import { listImagesCommand, removeImagesCommand, USED_IMAGES_COMMAND } from "../../ops/hostCommands/images";
import { lastExitCommand } from "../../ops/hostCommands/containers";
import { imagesToRemove } from "../../ops/imageRetention";
import { logs as logsCommand } from "../../ops/commands/logs";
import { status as statusCommand } from "../../ops/commands/status";
import {
  buildTestImages,
  containerIp,
  createThroughEngine,
  describeWithDocker,
  docker,
  IMAGES,
  inspect,
  psqlIn,
  run,
  waitForHealth,
  waitForLogin,
  waitForPostgresOverTcp,
} from "../support";
import {
  EMS_RUN_PATH,
  SECRETS_ENV_PATH,
  emsRunBase64,
  probeHealthcheckTests,
  secretsEnvFile,
} from "../../components/probe";
import { fakeDeps, fakeIo, FakeStack, prodOutputs } from "../support";

const [logs, status] = [logsCommand.main, statusCommand.main];

const ENV = `ops-test-${crypto.randomBytes(4).toString("hex")}`;
const GOOD = `${ENV}-ems`;
const EXITED = `${ENV}-sms`;
const REPO = `ems-test/retention-${ENV}`;
const SYSTEM = `${ENV}_system`.replace(/-/g, "_");
const SELECTOR = { system: SYSTEM, environment: ENV };
/** A second system on the same engine, as a failed deploy left it: its APIs cannot log in. */
const BROKEN_ENV = `${ENV}-b`;
const BROKEN_SYSTEM = `${BROKEN_ENV}_system`.replace(/-/g, "_");
const REFUSED = `${BROKEN_ENV}-ems`;
const NO_DATABASE = `${BROKEN_ENV}-sms`;
const RERUN = `${ENV}-rerun`;
const NETWORK = `${ENV}-db`;
const POSTGRES = `${ENV}-postgres`;
const PASSWORDS = { ems: `ems-${ENV}`, sms: `sms-${ENV}` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `--label` arguments of one service of a system. */
const labelArgs = (service: string, environment = ENV, system = SYSTEM) => [
  "--label",
  `com.ems.service=${service}`,
  "--label",
  `com.ems.environment=${environment}`,
  "--label",
  `com.ems.system=${system}`,
];

/** The env the real servers require (real-system.md), with this run's database values. */
const envArgs = (db: { user: string; password: string; database: string }) =>
  [
    "JWT_KEY=test-jwt",
    "VERIFICATION_LINK_BASE_URL=https://api.ems.local",
    `DB_HOST=${POSTGRES}`,
    "DB_PORT=5432",
    `DB_USER=${db.user}`,
    `DB_PASS=${db.password}`,
    `DB_NAME=${db.database}`,
    "API_KEY=test-key",
  ].flatMap((e) => ["--env", e]);

/**
 * An API of the broken system as the program runs one: ems-run loads the secrets file and exec's the server, the
 * healthcheck is its exec-form probe, the restart policy unless-stopped (a refused login becomes a crash loop).
 */
async function startBrokenApi(
  name: string,
  service: "ems" | "sms",
  db: { user: string; password: string; database: string },
): Promise<void> {
  const port = service === "ems" ? 8181 : 8080;
  await createThroughEngine(
    {
      entrypoints: [EMS_RUN_PATH],
      command: ["/app/bin/server"],
      uploads: [
        { file: EMS_RUN_PATH, contentBase64: emsRunBase64(), executable: true },
        {
          file: SECRETS_ENV_PATH,
          content: secretsEnvFile({ JWT_KEY: "test-jwt", API_KEY: "test-key", DB_PASS: db.password }),
        },
      ],
      envs: [
        "VERIFICATION_LINK_BASE_URL=https://api.ems.local",
        `DB_HOST=${POSTGRES}`,
        "DB_PORT=5432",
        `DB_USER=${db.user}`,
        `DB_NAME=${db.database}`,
      ],
      labels: [
        { label: "com.ems.service", value: service },
        { label: "com.ems.environment", value: BROKEN_ENV },
        { label: "com.ems.system", value: BROKEN_SYSTEM },
      ],
      networksAdvanced: [{ name: NETWORK }],
      restart: "unless-stopped",
      healthcheck: { tests: probeHealthcheckTests(port, "/api/v1/health"), interval: "2s", timeout: "2s", retries: 3 },
    },
    service === "ems" ? IMAGES.emsPg : IMAGES.smsPg,
    name,
  );
}

/** Waits (bounded) until a container has exited at least twice (restart count plus a current exit). */
async function crashLooping(name: string, timeoutMs = 30_000): Promise<void> {
  const exits = () => (inspect(name).RestartCount as number) + (inspect(name).State.Running ? 0 : 1);
  const deadline = Date.now() + timeoutMs;
  while (exits() < 2 && Date.now() < deadline) await sleep(250);
  if (exits() < 2) throw new Error(`${name} is not crash-looping: ${JSON.stringify(inspect(name).State)}`);
}

/** A host shell whose streamed commands are captured, so the test can read what `logs` printed. */
function recordingHost(): HostShell & { streamed: string } {
  const host = {
    streamed: "",
    capture: captureOnHost,
    async run(target: HostTarget, command: string) {
      const r = await captureOnHost(target, command);
      host.streamed += r.stdout + r.stderr;
      return r.code;
    },
  };
  return host;
}

const stack = (environment = ENV, system = SYSTEM) =>
  new FakeStack("dev", {
    config: { "ems-infra:environment": environment },
    outputs: prodOutputs({
      system,
      environment,
      containers: {},
      urls: { ems: "https://api.ems.local" },
      backupDir: `/nonexistent/${ENV}/backups`,
    }),
  });

describeWithDocker("everyday commands on the local engine", () => {
  beforeAll(async () => {
    buildTestImages();
    docker(["network", "create", NETWORK]);
    docker(["run", "-d", "--name", POSTGRES, "--network", NETWORK, "-e", `POSTGRES_PASSWORD=${ENV}`, IMAGES.postgres]);
    await waitForPostgresOverTcp(POSTGRES);
    // sms_user exists, its database not yet: what an API started before the databases command finds.
    psqlIn(
      POSTGRES,
      `CREATE ROLE ems_user LOGIN PASSWORD '${PASSWORDS.ems}'; CREATE DATABASE ems OWNER ems_user;
       CREATE ROLE sms_user LOGIN PASSWORD '${PASSWORDS.sms}';`,
    );
    const ems = { user: "ems_user", password: PASSWORDS.ems, database: "ems" };
    const run_ = (name: string, labels: string[], env: string[], image: string, restart = "no") =>
      docker(["run", "-d", "--name", name, "--network", NETWORK, "--restart", restart, ...labels, ...env, image]);
    run_(GOOD, labelArgs("ems"), envArgs(ems), IMAGES.emsPg);
    run_(EXITED, labelArgs("sms"), envArgs(ems), IMAGES.emsExits);
    await startBrokenApi(REFUSED, "ems", { ...ems, password: "not-the-password" });
    await startBrokenApi(NO_DATABASE, "sms", { user: "sms_user", password: PASSWORDS.sms, database: "sms" });
    await waitForLogin(GOOD);
    // Wait (bounded) for the failing one to exit.
    for (let i = 0; i < 50 && docker(["inspect", "--format", "{{.State.Status}}", EXITED]) !== "exited"; i++)
      await sleep(200);
  }, 240_000);

  afterAll(() => {
    run("docker", ["rm", "-f", GOOD, EXITED, REFUSED, NO_DATABASE, POSTGRES, RERUN]);
    run("docker", ["network", "rm", NETWORK]);
    run("sh", ["-c", `docker images -q ${REPO} | sort -u | xargs -r docker rmi -f`]);
  });

  it("the running API logged into PostgreSQL at start: its session is in pg_stat_activity, from its address", () => {
    expect(
      psqlIn(POSTGRES, "SELECT host(client_addr) FROM pg_stat_activity WHERE usename = 'ems_user' AND datname = 'ems'"),
    ).toBe(containerIp(GOOD, NETWORK));
  });

  it("status lists both containers by their labels and exits 1 for the exited one", async () => {
    const io = fakeIo();
    expect(await status(["--stack", "dev"], io, fakeDeps(stack(), { host: defaultHostShell }))).toBe(1);
    expect(io.stdout).toMatch(
      new RegExp(
        `ems\\s+${GOOD}\\s+1\\.2\\.1\\s+sha256:[a-f0-9]{12}\\s+running\\s+\\S+\\s+0\\s+https://api\\.ems\\.local`,
      ),
    );
    expect(io.stdout).toMatch(
      new RegExp(`sms\\s+${EXITED}\\s+9\\.0\\.0-exits\\s+sha256:[a-f0-9]{12}\\s+exited \\(exit 3\\)`),
    );
    expect(io.stderr).toBe(`unhealthy: ${EXITED} (npm run logs -- --stack dev --service <service>)\n`);
  });

  it("logs prints the current container's output, found by its service label", async () => {
    const host = recordingHost();
    const io = fakeIo();
    expect(await logs(["--stack", "dev", "--service", "sms", "--lines", "5"], io, fakeDeps(stack(), { host }))).toBe(0);
    expect(io.stdout).toContain(`logs of ${EXITED} (sms, exited):\n`);
    expect(host.streamed).toMatch(/migration/i);
  });

  it("the failed-deploy report shows the exited container's exit code and last lines", async () => {
    const report = await reportUnhealthy(defaultHostShell, "local", SELECTOR, {});
    expect(report).toContain(`--- ${EXITED} (sms): exited, exit code 3, restarts 0; last 20 log lines:\n`);
    expect(report).toMatch(/migration/i);
    expect(report).not.toContain(GOOD);
    expect(
      (await findContainers(defaultHostShell, "local", SELECTOR, { missing: `${ENV}-nope` })).map((c) => c.name).sort(),
    ).toEqual([GOOD, EXITED]);
  });

  it("image retention lists, keeps the newest and the used, and removes the rest", async () => {
    for (const tag of ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]) docker(["tag", IMAGES.emsPg, `${REPO}:${tag}`]);
    const listed = await captureOnHost("local", listImagesCommand(REPO));
    const used = await captureOnHost("local", USED_IMAGES_COMMAND);
    expect(listed.code).toBe(0);
    expect(used.code).toBe(0);
    // All four tags are the same image, which the running container uses: nothing may go.
    expect(imagesToRemove({ images: listed.stdout, usedImageIds: used.stdout, protectedTags: [], keep: 2 })).toEqual(
      [],
    );
    const remove = imagesToRemove({ images: listed.stdout, usedImageIds: "", protectedTags: ["1.1.0"], keep: 2 });
    expect(remove).toEqual(["1.0.0"]);
    expect((await captureOnHost("local", removeImagesCommand(REPO, remove))).code).toBe(0);
    expect(docker(["images", "--format", "{{.Tag}}", REPO]).split("\n").sort()).toEqual(["1.1.0", "1.2.0", "1.3.0"]);
  });

  it("an API refused by PostgreSQL (wrong password, no database yet) crash-loops: status exits 1 naming it, the failed-deploy report gives its restarts and the server's reason", async () => {
    await crashLooping(REFUSED);
    await crashLooping(NO_DATABASE);
    const io = fakeIo();
    const broken = stack(BROKEN_ENV, BROKEN_SYSTEM);
    expect(await status(["--stack", "dev"], io, fakeDeps(broken, { host: defaultHostShell }))).toBe(1);
    expect(io.stderr).toMatch(/^unhealthy: \S+, \S+ \(npm run logs -- --stack dev --service <service>\)\n$/);
    expect(io.stderr).toContain(REFUSED);
    expect(io.stderr).toContain(NO_DATABASE);
    expect(io.stderr).not.toContain(GOOD);

    const report = await reportUnhealthy(
      defaultHostShell,
      "local",
      { system: BROKEN_SYSTEM, environment: BROKEN_ENV },
      {},
    );
    const section = (name: string) => report.slice(report.indexOf(`--- ${name} `)).split("\n--- ")[0];
    // Between two runs the container is restarting with exit code 1; caught in a run, Docker's own exit code is 0 and
    // its health "starting": either way the report names the crash loop and the crash's exit code.
    const header = (name: string, svc: string) =>
      new RegExp(
        `^--- ${name} \\(${svc}\\): (restarting|running), [a-z]+, crash loop \\(restarts [1-9]\\d*, last exit code 1\\); last 20 log lines:\\n`,
      );
    expect(section(REFUSED)).toMatch(header(REFUSED, "ems"));
    expect(section(REFUSED)).toContain('password authentication failed for user "ems_user"');
    expect(section(NO_DATABASE)).toMatch(header(NO_DATABASE, "sms"));
    expect(section(NO_DATABASE)).toContain('database "sms" does not exist');
  }, 60_000);

  it("a container Docker runs again after its crash shows exit code 0; the crash's exit code is read from the engine's events", async () => {
    // Caught deterministically: the first run exits 1, the restart (on-failure, 100 ms back-off) stays up. The API
    // stand-ins above crash again within milliseconds, with back-offs up to a minute: too short a window to catch.
    run("docker", [
      "run",
      "-d",
      "--name",
      RERUN,
      "--restart",
      "on-failure",
      "--entrypoint",
      "sh",
      IMAGES.postgres,
      "-c",
      "if [ -f /tmp/crashed ]; then exec sleep 600; fi; touch /tmp/crashed; exit 1",
    ]);
    const deadline = Date.now() + 30_000;
    let c = inspect(RERUN);
    while (!(c.State.Status === "running" && (c.RestartCount as number) > 0) && Date.now() < deadline) {
      await sleep(50);
      c = inspect(RERUN);
    }
    expect({ status: c.State.Status, restarts: c.RestartCount, exitCode: c.State.ExitCode }).toEqual({
      status: "running",
      restarts: 1,
      exitCode: 0,
    });
    const r = await captureOnHost("local", lastExitCommand(c.Id as string, c.Created as string));
    expect(r).toMatchObject({ code: 0, stdout: "1\n" });
  }, 40_000);

  it("once its database exists, the crash-looping API logs in at its next restart and runs", async () => {
    psqlIn(POSTGRES, "CREATE DATABASE sms OWNER sms_user;");
    // Docker's restart back-off doubles at each exit (from 100 ms): a few seconds here.
    await waitForLogin(NO_DATABASE, 60_000);
    await waitForHealth(NO_DATABASE, "healthy", 30_000);
    expect(
      psqlIn(POSTGRES, "SELECT host(client_addr) FROM pg_stat_activity WHERE usename = 'sms_user' AND datname = 'sms'"),
    ).toBe(containerIp(NO_DATABASE, NETWORK));
  }, 100_000);
});

/**
 * Two systems on one host (README, "A second system on the same host"): the same `com.ems.environment`, their own
 * Postgres and API containers, a different `com.ems.system`. status, logs and exec, driven through their real entry
 * points against the real dockerd with a fake stack, see and touch only their own system's containers. Each system's
 * API is a stand-in that logs into its own Postgres at start (the `-pg` image, real-system.md §6), over its own network.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { exec } from "../../ops/commands/exec";
import { logs } from "../../ops/commands/logs";
import { status } from "../../ops/commands/status";
import { captureOnHost, HostShell, HostTarget } from "../../ops/runner/hostShell";
import {
  buildTestImages,
  containerIp,
  describeWithDocker,
  docker,
  DockerScratch,
  IMAGES,
  psqlIn,
  run,
  waitForLogin,
  waitForPostgresOverTcp,
} from "../support";
import { fakeDeps, fakeIo, FakeStack, prodOutputs } from "../support";

const scratch = new DockerScratch("sys");
/** Shared by both systems, as two systems of one VPS both run `production`. */
const ENV = `ops-env-${crypto.randomBytes(3).toString("hex")}`;
const MINE = `mine_${scratch.id}`;
const OTHER = `other_${scratch.id}`;
const name = (system: string, service: string) => `${system}-${service}`;

/** A host shell that runs for real and keeps what streamed commands printed (logs, exec), and every command. */
function recordingHost(): HostShell & { streamed: string; commands: string[] } {
  const host = {
    streamed: "",
    commands: [] as string[],
    async capture(target: HostTarget, command: string) {
      host.commands.push(command);
      return captureOnHost(target, command);
    },
    async run(target: HostTarget, command: string) {
      host.commands.push(command);
      const r = await captureOnHost(target, command);
      host.streamed += r.stdout + r.stderr;
      return r.code;
    },
  };
  return host;
}

/** My system's stack as deployed: its outputs name its system, its environment and its fixed-name Postgres. */
function myStack(outputs: Record<string, unknown> = myOutputs()): FakeStack {
  return new FakeStack("prod", { config: { "ems-infra:environment": ENV }, outputs });
}

let backups: string;
function myOutputs(): Record<string, unknown> {
  return prodOutputs({
    system: MINE,
    environment: ENV,
    containers: { postgres: name(MINE, "postgres") },
    urls: { ems: "https://api.ems.local" },
    backupDir: backups,
    backupLog: path.join(backups, "backup.log"),
  });
}

/** Each system's network, shared by its Postgres and its API. */
const networks: Record<string, string> = {};

/** A system: Postgres (marked with its system's name, to tell whose psql answered) and the EMS API, logged into it. */
async function startSystem(system: string, api: string): Promise<void> {
  networks[system] = scratch.network({ name: system });
  const labels = (service: string) =>
    ["com.ems.service=" + service, `com.ems.environment=${ENV}`, `com.ems.system=${system}`].flatMap((l) => [
      "--label",
      l,
    ]);
  docker([
    "run",
    "-d",
    "--name",
    scratch.track(name(system, "postgres")),
    "--network",
    networks[system],
    ...labels("postgres"),
    "--env",
    "POSTGRES_PASSWORD=test",
    "--env",
    `MARKER=${system}`,
    IMAGES.postgres,
  ]);
  await waitForPostgresOverTcp(name(system, "postgres"));
  psqlIn(name(system, "postgres"), "CREATE ROLE ems_user LOGIN PASSWORD 'test'; CREATE DATABASE ems OWNER ems_user;");
  const env = [
    "JWT_KEY=test-jwt",
    "VERIFICATION_LINK_BASE_URL=https://api.ems.local",
    `DB_HOST=${name(system, "postgres")}`,
    "DB_PORT=5432",
    "DB_USER=ems_user",
    "DB_PASS=test",
    "DB_NAME=ems",
    "API_KEY=test-key",
  ].flatMap((e) => ["--env", e]);
  const apiName = scratch.track(name(system, "ems"));
  docker(["run", "-d", "--name", apiName, "--network", networks[system], ...labels("ems"), ...env, api]);
}

describeWithDocker("a second system on the same host, same environment", () => {
  beforeAll(async () => {
    buildTestImages();
    backups = fs.mkdtempSync(path.join(os.tmpdir(), "ems-second-system-"));
    await startSystem(MINE, IMAGES.emsPg);
    await waitForLogin(name(MINE, "ems"));
    // The other system's API is broken: seen by mistake, it would turn my status red.
    await startSystem(OTHER, IMAGES.emsExits);
    for (
      let i = 0;
      i < 50 && docker(["inspect", "--format", "{{.State.Status}}", name(OTHER, "ems")]) !== "exited";
      i++
    )
      run("sleep", ["0.2"]);
  }, 240_000);

  afterAll(() => {
    scratch.cleanup();
    fs.rmSync(backups, { recursive: true, force: true });
  });

  it("my API holds its session in my Postgres, from its address on my system's network", () => {
    expect(
      psqlIn(name(MINE, "postgres"), "SELECT host(client_addr) FROM pg_stat_activity WHERE usename = 'ems_user'"),
    ).toBe(containerIp(name(MINE, "ems"), networks[MINE]));
  });

  it("status lists only my system's containers and calls it healthy", async () => {
    const io = fakeIo();
    const host = recordingHost();
    expect(await status.main(["--stack", "prod"], io, fakeDeps(myStack(), { host }))).toBe(0);
    expect(io.stdout).toMatch(new RegExp(`ems\\s+${name(MINE, "ems")}\\s+1\\.2\\.1`));
    expect(io.stdout).toMatch(new RegExp(`postgres\\s+${name(MINE, "postgres")}\\s+`));
    expect(io.stdout).not.toContain(OTHER);
    expect(io.stdout).toContain("all containers healthy\n");
    expect(io.stderr).toBe("");
  });

  it("logs --service postgres reads my Postgres, never the other system's", async () => {
    const io = fakeIo();
    const host = recordingHost();
    const mine = docker(["inspect", "--format", "{{.Id}}", name(MINE, "postgres")]);
    const other = docker(["inspect", "--format", "{{.Id}}", name(OTHER, "postgres")]);
    expect(await logs.main(["-s", "prod", "--service", "postgres"], io, fakeDeps(myStack(), { host }))).toBe(0);
    expect(io.stdout).toContain(`logs of ${name(MINE, "postgres")} (postgres, running):\n`);
    expect(host.commands.at(-1)).toBe(`docker logs --tail 100 ${mine}`);
    expect(host.commands.join("\n")).not.toContain(other);
  });

  it("logs --service ems finds my API by its labels, not the other system's broken one", async () => {
    const io = fakeIo();
    const host = recordingHost();
    expect(await logs.main(["-s", "prod", "--service", "ems"], io, fakeDeps(myStack(), { host }))).toBe(0);
    expect(io.stdout).toContain(`logs of ${name(MINE, "ems")} (ems, running):\n`);
    expect(host.streamed).not.toMatch(/migration/i);
  });

  it("exec runs in my Postgres: the container that answers is mine", async () => {
    const io = fakeIo();
    const host = recordingHost();
    const argv = ["-s", "prod", "--service", "postgres", "--", "sh", "-c", "echo $MARKER"];
    expect(await exec.main(argv, io, fakeDeps(myStack(), { host }))).toBe(0);
    expect(host.streamed).toBe(`${MINE}\n`);
    expect(io.stdout).toContain(`running in ${name(MINE, "postgres")}: sh -c echo $MARKER\n`);
  });

  it("a stack never deployed is not 'all healthy' because another system's containers run", async () => {
    const io = fakeIo();
    const host = recordingHost();
    expect(await status.main(["--stack", "prod"], io, fakeDeps(myStack({}), { host }))).toBe(1);
    expect(io.stderr).toBe(
      "error: stack prod has no outputs: it was never deployed (npm run deploy -- --stack prod)\n",
    );
    expect(io.stdout).not.toContain("all containers healthy");
    expect(host.commands).toEqual([]);
  });

  it("a deployed system whose containers are all gone is not healthy either", async () => {
    const io = fakeIo();
    const gone = prodOutputs({ system: `gone_${scratch.id}`, environment: ENV, containers: {}, backupDir: backups });
    expect(await status.main(["--stack", "prod"], io, fakeDeps(myStack(gone), { host: recordingHost() }))).toBe(1);
    expect(io.stderr).toContain("no container of the stack found on its host");
    expect(io.stdout).not.toContain(OTHER);
  });
});

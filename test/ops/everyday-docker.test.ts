/** status, logs, the failed-deploy report and image retention against the real dockerd, on labelled containers. */
import * as crypto from "crypto";
import { findContainers, reportUnhealthy } from "../../ops/containers";
import { captureOnHost, defaultHostShell, HostShell, HostTarget } from "../../ops/runner/hostShell";
import { listImagesCommand, removeImagesCommand, USED_IMAGES_COMMAND } from "../../ops/hostCommands/images";
import { imagesToRemove } from "../../ops/imageRetention";
import { logs as logsCommand } from "../../ops/commands/logs";
import { status as statusCommand } from "../../ops/commands/status";
import { buildTestImages, describeWithDocker, docker, IMAGES, run } from "../support";
import { fakeDeps, fakeIo, FakeStack, prodOutputs } from "../support";

const [logs, status] = [logsCommand.main, statusCommand.main];

const ENV = `ops-test-${crypto.randomBytes(4).toString("hex")}`;
const GOOD = `${ENV}-ems`;
const EXITED = `${ENV}-sms`;
const REPO = `ems-test/retention-${ENV}`;
const SYSTEM = `${ENV}_system`.replace(/-/g, "_");
const SELECTOR = { system: SYSTEM, environment: ENV };

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

const stack = () =>
  new FakeStack("dev", {
    config: { "ems-infra:environment": ENV },
    outputs: prodOutputs({
      system: SYSTEM,
      environment: ENV,
      containers: {},
      urls: { ems: "https://api.ems.local" },
      backupDir: `/nonexistent/${ENV}/backups`,
    }),
  });

describeWithDocker("everyday commands on the local engine", () => {
  beforeAll(() => {
    buildTestImages();
    const labels = (service: string) => [
      "--label",
      `com.ems.service=${service}`,
      "--label",
      `com.ems.environment=${ENV}`,
      "--label",
      `com.ems.system=${SYSTEM}`,
    ];
    // The env the real servers require (real-system.md), with test values.
    const env = [
      "JWT_KEY=test-jwt",
      "VERIFICATION_LINK_BASE_URL=https://api.ems.local",
      "DB_HOST=ems_system-postgres",
      "DB_PORT=5432",
      "DB_USER=ems_user",
      "DB_PASS=test",
      "DB_NAME=ems",
      "API_KEY=test-key",
    ].flatMap((e) => ["--env", e]);
    docker(["run", "-d", "--name", GOOD, ...labels("ems"), ...env, IMAGES.ems]);
    docker(["run", "-d", "--name", EXITED, ...labels("sms"), ...env, IMAGES.emsExits]);
    // Wait (bounded) for the failing one to exit.
    for (let i = 0; i < 50 && docker(["inspect", "--format", "{{.State.Status}}", EXITED]) !== "exited"; i++)
      run("sleep", ["0.2"]);
  }, 240_000);

  afterAll(() => {
    run("docker", ["rm", "-f", GOOD, EXITED]);
    run("sh", ["-c", `docker images -q ${REPO} | sort -u | xargs -r docker rmi -f`]);
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
    for (const tag of ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]) docker(["tag", IMAGES.ems, `${REPO}:${tag}`]);
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
});

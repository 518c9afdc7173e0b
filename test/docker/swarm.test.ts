/**
 * The program's own Swarm service specs on a REAL engine in swarm mode: a private dockerd started by this test in
 * its own network namespace, data-root, exec-root and socket (test/support/swarmEngine.ts), never the machine's
 * engine. The networks, secrets and configs are created as the program registers them; the services through
 * the Engine API spec translated from the registered docker.Service inputs, with only these replaced:
 *   - the image: the FROM scratch stand-ins (test/support/images), loaded with `docker save | docker load`;
 *   - the health interval (6 s, the config's minimum is 60 s) and the monitor window that follows it (5 s);
 *   - a host-mode published port per task, for the client loop that stands in for Traefik (no Traefik image
 *     offline): bench/swarm-client.ts reads the running tasks like Traefik's Swarm provider (every 15 s), balances
 *     across them and retries the next one on a connection error like the api-retry middleware;
 *   - the registry auth (no registry).
 * `health.timeoutSeconds: 10` is a real config value (the start period).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IMAGES, plain } from "../support/dockerEngine";
import { PrivateEngine, privateEngineUnavailable } from "../support/swarmEngine";
import { SwarmDeployment, startClient, swarmSpecs } from "../support/swarmDeploy";

const reason = privateEngineUnavailable();
if (reason && process.env.CI === "true") throw new Error(`the swarm tests need a private dockerd: ${reason}`);
const describeSwarm = reason ? describe.skip : describe;

describeSwarm("the APIs as Swarm services on a private engine", () => {
  const engine = new PrivateEngine("swarm-test");
  let deployment: SwarmDeployment;
  let keys: Record<string, string>;

  beforeAll(async () => {
    await engine.start();
    engine.docker(["swarm", "init", "--advertise-addr", engine.address]);
    SwarmDeployment.loadImages(engine);
    const run = await swarmSpecs({ ems: "1.2.1", sms: "1.1.0" });
    keys = plain<Record<string, string>>(run.outputs.apiKeys);
    deployment = new SwarmDeployment(engine, run);
    await deployment.createObjects();
    deployment.bindUnder(fs.mkdtempSync(path.join(os.tmpdir(), "ems-swarm-binds-")));
    await deployment.createService("ems", IMAGES.ems, 8181);
    await deployment.createService("sms", IMAGES.sms, 8080);
  }, 120_000);

  afterAll(() => engine.stop(), 120_000);

  test("both APIs reach their 2 replicas and pass the ems-run health check; no credential in the service", async () => {
    await deployment.waitRunning("ems", 2, IMAGES.ems, 60_000);
    const sms = await deployment.waitRunning("sms", 2, IMAGES.sms, 60_000);
    // The secrets file came in as a Swarm secret: the probe sent the right x-api-key (401 otherwise).
    expect(sms[0].State.Health.Log.at(-1).ExitCode).toBe(0);
    const inspected = JSON.stringify([await deployment.service("ems"), await deployment.service("sms"), sms]);
    expect(inspected).not.toContain(keys.ems);
    expect(inspected).not.toContain(keys.sms);
  }, 120_000);

  test("a version bump rolls start-first, the old tasks serving until the new ones are healthy: no failed request", async () => {
    await deployment.waitRunning("ems", 2, IMAGES.ems, 60_000);
    const client = startClient(engine, "ems_system-ems", 8181, keys.ems);
    await new Promise((r) => setTimeout(r, 5000));
    const next = await swarmSpecs({ ems: "1.2.2", sms: "1.1.0" });
    await deployment.updateService(next, "ems", IMAGES.emsNext, 8181);
    expect(await deployment.waitUpdate("ems", ["completed", "paused", "rollback_completed"], 120_000)).toBe(
      "completed",
    );
    await deployment.waitRunning("ems", 2, IMAGES.emsNext, 60_000);
    await new Promise((r) => setTimeout(r, 16_000));
    const result = await client.stop();
    console.log(`version bump: ${JSON.stringify(result)}`);
    expect(result.failed).toBe(0);
    expect(Object.keys(result.versions).sort()).toEqual(["1.2.1", "1.2.2"]);
  }, 240_000);

  test("a version that never gets healthy is rolled back by Swarm, the old tasks serving throughout", async () => {
    await deployment.waitRunning("sms", 2, IMAGES.sms, 60_000);
    const client = startClient(engine, "ems_system-sms", 8080, keys.sms);
    const broken = await swarmSpecs({ ems: "1.2.2", sms: "9.0.1-500" });
    await deployment.updateService(broken, "sms", IMAGES.smsHealth500, 8080);
    expect(await deployment.waitUpdate("sms", ["completed", "paused", "rollback_completed"], 150_000)).toBe(
      "rollback_completed",
    );
    await deployment.waitRunning("sms", 2, IMAGES.sms, 60_000);
    const result = await client.stop();
    console.log(`never healthy: ${JSON.stringify(result)}`);
    expect(result.failed).toBe(0);
    expect(Object.keys(result.versions)).toEqual(["1.1.0"]);
  }, 240_000);
});

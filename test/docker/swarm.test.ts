/**
 * The program's own Swarm service specs on a REAL engine in swarm mode: a private dockerd started by this test in
 * its own network namespace, data-root, exec-root and socket (testkit/swarm/engine.ts), never the machine's
 * engine. The networks, secrets and configs are created as the program registers them; the services through
 * the Engine API spec translated from the registered docker.Service inputs, with only these replaced:
 *   - the image: the FROM scratch stand-ins (test/support/images), loaded with `docker save | docker load`;
 *   - the health interval (6 s, the config's minimum is 60 s) and the monitor window that follows it (5 s);
 *   - a host-mode published port per task, for the client loop that stands in for Traefik (no Traefik image
 *     offline): testkit/swarm/client.ts reads the running tasks like Traefik's Swarm provider (every 15 s), balances
 *     across them and retries the next one on a connection error like the api-retry middleware;
 *   - the registry auth (no registry).
 * `health.timeoutSeconds: 10` is a real config value (the start period).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { swarmExecCommand, swarmLogsCommand, swarmStatusCommand } from "../../ops/hostCommands/swarm";
import { degraded, parseSwarmStatus } from "../../ops/swarm";
import {
  IMAGES,
  plain,
  T,
  PrivateEngine,
  privateEngineUnavailable,
  SwarmDeployment,
  startClient,
  swarmSpecs,
} from "../support";

const reason = privateEngineUnavailable();
if (reason && process.env.CI === "true") throw new Error(`the swarm tests need a private dockerd: ${reason}`);
const describeSwarm = reason ? describe.skip : describe;

describeSwarm("the APIs as Swarm services on a private engine", () => {
  const engine = new PrivateEngine("swarm-test");
  let deployment: SwarmDeployment;
  let keys: Record<string, string>;
  const binds = fs.mkdtempSync(path.join(os.tmpdir(), "ems-swarm-binds-"));

  beforeAll(async () => {
    await engine.start();
    engine.docker(["swarm", "init", "--advertise-addr", engine.address]);
    // The APIs are pinned to the node holding their uploads (by default the Postgres pin): this one.
    SwarmDeployment.labelNode(engine, { "ems.postgres": "true" });
    SwarmDeployment.loadImages(engine);
    const run = await swarmSpecs({ ems: "1.2.1", sms: "1.1.0" });
    keys = plain<Record<string, string>>(run.outputs.apiKeys);
    deployment = new SwarmDeployment(engine, run);
    await deployment.createObjects();
    deployment.bindUnder(binds);
    await deployment.createService("ems", IMAGES.ems, 8181);
    await deployment.createService("sms", IMAGES.sms, 8080);
  }, 120_000);

  afterAll(() => {
    engine.stop();
    fs.rmSync(binds, { recursive: true, force: true });
  }, 120_000);

  test("both APIs reach their 2 replicas and pass the ems-run health check; no credential in the service", async () => {
    await deployment.waitRunning("ems", 2, IMAGES.ems, 60_000);
    const sms = await deployment.waitRunning("sms", 2, IMAGES.sms, 60_000);
    // The secrets file came in as a Swarm secret: the probe sent the right x-api-key (401 otherwise).
    expect(sms[0].State.Health.Log.at(-1).ExitCode).toBe(0);
    const inspected = JSON.stringify([await deployment.service("ems"), await deployment.service("sms"), sms]);
    expect(inspected).not.toContain(keys.ems);
    expect(inspected).not.toContain(keys.sms);
  }, 120_000);

  test("an API task drops every capability and has a read-only root, yet serves, and writes its uploads and log into the mounted folders", async () => {
    const [container] = await deployment.waitRunning("ems", 2, IMAGES.ems, 60_000);
    expect(container.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(container.HostConfig.ReadonlyRootfs).toBe(true);
    expect(container.State.Health.Status).toBe("healthy");
    // An upload through the task's own port (as Traefik reaches it), with the service's key.
    const task = (await deployment.tasks("ems")).find((t) => t.Status.ContainerStatus?.ContainerID === container.Id)!;
    const port = task.Status.PortStatus.Ports[0].PublishedPort as number;
    const name = `hardening-${Date.now()}.txt`;
    const argv = engine.inNamespace([
      ...["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", `x-api-key: ${keys.ems}`],
      ...["--data-binary", "uploaded on a read-only root", `http://127.0.0.1:${port}/api/v1/upload?name=${name}`],
    ]);
    const posted = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 30_000 });
    expect(posted.stdout).toBe("201");
    const uploads = deployment.binds["/root/ems_system/data/uploads/ems"];
    expect(fs.readFileSync(path.join(uploads, name), "utf8")).toBe("uploaded on a read-only root");
    // The server logs a request after answering it, into $HOME/Documents/MeuAppDart/logs (the logs folder).
    const logFile = path.join(deployment.binds["/root/ems_system/data/logs/ems"], "app_logs.txt");
    let log = "";
    for (let i = 0; i < 20 && !/POST \/api\/v1\/upload 201/.test(log); i++) {
      await new Promise((r) => setTimeout(r, 250));
      log = fs.readFileSync(logFile, "utf8");
    }
    expect(log).toMatch(/POST \/api\/v1\/upload 201/);
  }, 120_000);

  test("swarm.sharedStorage: Swarm makes the uploads volume on the task's node with the program's NFS options (no NFS server here: the mount itself fails)", async () => {
    const nfs = { type: "nfs", address: engine.address, path: "/srv/ems" };
    const run = await swarmSpecs({ ems: "1.2.1", sms: "1.1.0" }, { sharedStorage: nfs });
    const spec = deployment.spec(run, "ems", IMAGES.ems, 8181);
    spec.Name = "ems_system-ems-nfs";
    spec.Mode = { Replicated: { Replicas: 1 } };
    spec.TaskTemplate.RestartPolicy = { Condition: "none" };
    const mount = plain<Record<string, any>>(run.get(T.service, "ems").inputs).taskSpec.containerSpec.mounts[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const created = await engine.api<{ ID: string }>("POST", "/services/create", spec);
    try {
      const filters = encodeURIComponent(JSON.stringify({ service: [created.ID] }));
      let err = "";
      for (let i = 0; i < 60 && !err; i++) {
        const tasks = await engine.api<Record<string, any>[]>("GET", `/tasks?filters=${filters}`); // eslint-disable-line @typescript-eslint/no-explicit-any
        err = (tasks.find((t) => t.Status.Err)?.Status.Err as string) ?? "";
        if (!err) await new Promise((r) => setTimeout(r, 500));
      }
      // The kernel was asked for an NFS mount of the service's folder on the export (this kernel has no nfs).
      expect(err).toContain(`failed to mount local volume: mount :/srv/ems/ems_system/ems:`);
      expect(err).toContain(`data: addr=${engine.address},nfsvers=4`);
      const volume = JSON.parse(engine.docker(["volume", "inspect", mount.source]))[0];
      expect(volume.Driver).toBe("local");
      expect(volume.Options).toEqual({
        type: "nfs",
        o: `addr=${engine.address},nfsvers=4`,
        device: ":/srv/ems/ems_system/ems",
      });
    } finally {
      await engine.api("DELETE", `/services/${created.ID}`);
    }
  }, 60_000);

  test("npm run status, logs and exec's host commands on the swarm (ops/swarm.ts), run on the engine", async () => {
    await deployment.waitRunning("ems", 2, IMAGES.ems, 60_000);
    const onEngine = (command: string) =>
      spawnSync("sh", ["-c", command], { env: engine.env, encoding: "utf8", timeout: 60_000 });
    const named = { ems: "ems_system-ems", sms: "ems_system-sms" };
    const status = parseSwarmStatus(onEngine(swarmStatusCommand(Object.values(named))).stdout, named);
    const host = os.hostname();
    expect(status).toEqual([
      { service: "ems", name: "ems_system-ems", running: 2, desired: 2, nodes: { [host]: 2 } },
      { service: "sms", name: "ems_system-sms", running: 2, desired: 2, nodes: { [host]: 2 } },
    ]);
    expect(degraded(status)).toEqual([]);
    expect(onEngine(swarmLogsCommand("ems_system-sms", { follow: false, lines: 5 })).stdout).toMatch(
      /ems_system-sms\.\d\.\w+@\S+\s+\| .*listening on 0\.0\.0\.0:8080/,
    );
    // The API image is FROM scratch: ems-run's probe is what there is to run in a task.
    const probe = onEngine(
      swarmExecCommand("ems_system-ems", ["/run/ems/ems-run", "--probe", "8181", "/api/v1/health"], false),
    );
    expect(probe.status).toBe(0);
  }, 120_000);

  test("a version bump rolls start-first with no failed request; a never-healthy version is rolled back by Swarm, the old tasks serving throughout", async () => {
    await deployment.waitRunning("ems", 2, IMAGES.ems, 60_000);
    await deployment.waitRunning("sms", 2, IMAGES.sms, 60_000);
    const emsClient = startClient(engine, "ems_system-ems", 8181, keys.ems);
    const smsClient = startClient(engine, "ems_system-sms", 8080, keys.sms);
    // Both at once (one program deploy updates both): ems to the next good version, sms to one never healthy.
    const next = await swarmSpecs({ ems: "1.2.2", sms: "9.0.1-500" });
    await deployment.updateService(next, "ems", IMAGES.emsNext, 8181);
    await deployment.updateService(next, "sms", IMAGES.smsHealth500, 8080);
    const ended = ["completed", "paused", "rollback_completed", "rollback_paused"];
    const [emsState, smsState] = await Promise.all([
      deployment.waitUpdate("ems", ended, 150_000),
      deployment.waitUpdate("sms", ended, 150_000),
    ]);
    expect({ ems: emsState, sms: smsState }).toEqual({ ems: "completed", sms: "rollback_completed" });
    await deployment.waitRunning("ems", 2, IMAGES.emsNext, 60_000);
    await deployment.waitRunning("sms", 2, IMAGES.sms, 60_000);
    const [ems, sms] = await Promise.all([emsClient.stop(), smsClient.stop()]);
    console.log(`version bump (ems): ${JSON.stringify(ems)}\nnever healthy (sms): ${JSON.stringify(sms)}`);
    expect(ems.failed).toBe(0);
    expect(Object.keys(ems.versions).sort()).toEqual(["1.2.1", "1.2.2"]);
    expect(sms.failed).toBe(0);
    expect(Object.keys(sms.versions)).toEqual(["1.1.0"]);
  }, 240_000);
});

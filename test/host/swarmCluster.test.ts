/**
 * The cluster scripts (components/scripts/swarm) for real, as SwarmCluster runs them (`sh -s -- ARGS` with the
 * script, and for join.sh the tokens, on standard input), on two PRIVATE engines started by this test, each in
 * its own network namespace wired to a third one's bridge: never the machine's engine, no outside address. Between
 * labelling and draining, the program's own API spec shows where the uploads pin puts the tasks.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { joinInput, labelArgs, managerAddress, swarmScript } from "../../components/swarmCluster";
import {
  IMAGES,
  buildTestImages,
  Hub,
  PrivateEngine,
  privateEngineUnavailable,
  SwarmDeployment,
  swarmSpecs,
} from "../support";

const reason = privateEngineUnavailable();
if (reason && process.env.CI === "true") throw new Error(`the swarm tests need a private dockerd: ${reason}`);
const describeSwarm = reason ? describe.skip : describe;

/** A swarm script run on a node the way the program runs it there. */
function script(engine: PrivateEngine, name: string, args: string[], stdinPrefix = "") {
  const r = spawnSync("sh", ["-s", "--", ...args], {
    input: stdinPrefix ? stdinPrefix : swarmScript(name),
    env: engine.env,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

describeSwarm("the cluster from config, on two private engines", () => {
  const hub = new Hub();
  const manager = new PrivateEngine("swarm-m", "10.232.0.1");
  const worker = new PrivateEngine("swarm-w", "10.232.0.2");
  let managerId = "";
  let workerId = "";
  let tokens = "";

  beforeAll(async () => {
    await Promise.all([manager.start(hub), worker.start(hub)]);
    buildTestImages();
    for (const e of [manager, worker]) e.loadImages([IMAGES.ems]);
  }, 120_000);

  afterAll(() => {
    worker.stop();
    manager.stop();
    hub.remove();
  }, 120_000);

  test("init.sh initialises the swarm once: a second run leaves it as it is and prints the same node id", () => {
    const first = script(manager, "init.sh", [manager.address]);
    expect(first).toMatchObject({ status: 0, stderr: "" });
    managerId = first.stdout;
    expect(managerId).toMatch(/^[a-z0-9]{25}$/);
    const again = script(manager, "init.sh", [manager.address]);
    expect(again).toEqual({
      status: 0,
      stdout: managerId,
      stderr: "swarm: this node is already in a swarm; not initialised again",
    });
    expect(manager.docker(["info", "--format", "{{.Swarm.Cluster.ID}}"])).toMatch(/^[a-z0-9]{25}$/);
  });

  test("join.sh joins the worker with the token from its standard input and never prints it", () => {
    const t = script(manager, "tokens.sh", []);
    expect(t.status).toBe(0);
    tokens = t.stdout;
    expect(tokens).toMatch(/^WORKER_TOKEN='SWMTKN-1-[a-z0-9-]+'\nMANAGER_TOKEN='SWMTKN-1-[a-z0-9-]+'$/);
    const secret = /WORKER_TOKEN='([^']+)'/.exec(tokens)![1];
    const input = joinInput(tokens, "worker", managerAddress(manager.address), worker.address);
    const joined = script(worker, "join.sh", [], input);
    expect(joined.status).toBe(0);
    workerId = joined.stdout;
    expect(workerId).toMatch(/^[a-z0-9]{25}$/);
    expect(joined.stdout + joined.stderr).not.toContain(secret);
    expect(manager.docker(["node", "ls", "--format", "{{.ID}} {{.Status}}"]).split("\n").sort()).toEqual(
      [`${managerId} Ready`, `${workerId} Ready`].sort(),
    );
    const again = script(worker, "join.sh", [], input);
    expect(again).toEqual({
      status: 0,
      stdout: workerId,
      stderr: "swarm: this node is already in a swarm; not joined again",
    });
  }, 60_000);

  test("label.sh gives the node exactly the labels in config and its role", () => {
    const set = script(
      manager,
      "label.sh",
      labelArgs(workerId, { role: "worker", labels: { "ems.postgres": "true", zone: "a" } }),
    );
    expect(set).toEqual({ status: 0, stdout: "worker ems.postgres=true zone=a", stderr: "" });
    const changed = script(
      manager,
      "label.sh",
      labelArgs(workerId, { role: "worker", labels: { "ems.postgres": "true" } }),
    );
    expect(changed.stdout).toBe("worker ems.postgres=true");
    expect(manager.docker(["node", "inspect", "--format", "{{json .Spec.Labels}}", workerId])).toBe(
      '{"ems.postgres":"true"}',
    );
  });

  test("the program's API spec with the default uploads pin: every task runs on the node labelled ems.postgres=true, none elsewhere", async () => {
    // The swarm prod stack's own objects and ems service (testkit/swarm/deploy.ts), with the swarm test's overrides.
    const run = await swarmSpecs({ ems: "1.2.1", sms: "1.1.0" });
    const deployment = new SwarmDeployment(manager, run, [manager, worker]);
    const binds = fs.mkdtempSync(path.join(os.tmpdir(), "ems-swarm-pin-"));
    try {
      await deployment.createObjects();
      deployment.bindUnder(binds);
      await deployment.createService("ems", IMAGES.ems, 8181);
      await deployment.waitRunning("ems", 2, IMAGES.ems, 90_000);
      const running = (await deployment.tasks("ems")).filter((t) => t.Status.State === "running");
      expect(running.map((t) => t.NodeID)).toEqual([workerId, workerId]);
    } finally {
      // The service stays: the next test drains its node.
      fs.rmSync(binds, { recursive: true, force: true });
    }
  }, 120_000);

  test("a node removed from config: drained (its tasks start on the other node first, the pinned ones stop), left, removed", async () => {
    manager.docker([
      "service",
      "create",
      "--detach",
      "--name",
      "drain-probe",
      "--replicas",
      "2",
      "--placement-pref",
      "spread=node.id",
      ...["--env", "JWT_KEY=k", "--env", "VERIFICATION_LINK_BASE_URL=x", "--env", "DB_HOST=x", "--env", "DB_PORT=5432"],
      ...["--env", "DB_USER=u", "--env", "DB_NAME=d", "--env", "DB_PASS=p", "--env", "API_KEY=k"],
      IMAGES.ems,
    ]);
    const runningOn = () =>
      manager
        .docker([
          "service",
          "ps",
          "--filter",
          "desired-state=running",
          "--format",
          "{{.Node}} {{.CurrentState}}",
          "drain-probe",
        ])
        .split("\n")
        .filter((l: string) => / Running/.test(l))
        .map((l: string) => l.split(" ")[0]);
    for (let i = 0; i < 60 && runningOn().length < 2; i++) await new Promise((r) => setTimeout(r, 1000));
    expect(runningOn()).toHaveLength(2);

    const drained = script(manager, "drain.sh", [workerId, "60"]);
    expect(drained).toEqual({ status: 0, stdout: `swarm: ${workerId} drained`, stderr: "" });
    // The pinned API's tasks had nowhere else to go: drain.sh waited for their containers to stop (the server
    // ignores SIGTERM: 30 s of stop grace), so the node can leave now.
    expect(worker.docker(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=ems_system-ems"])).toBe("");
    expect(manager.docker(["node", "inspect", "--format", "{{.Spec.Availability}}", workerId])).toBe("drain");
    // Both replicas run on the manager now: nothing of the worker's was lost.
    for (let i = 0; i < 60 && runningOn().length < 2; i++) await new Promise((r) => setTimeout(r, 1000));
    expect(runningOn().length).toBe(2);
    // (Every node has this machine's host name: the worker is checked by its id.)
    expect(
      manager.docker(["node", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", workerId]),
    ).toBe("");

    expect(script(worker, "leave.sh", [])).toEqual({ status: 0, stdout: "swarm: left", stderr: "" });
    expect(worker.docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).toBe("inactive");
    let removed = { status: 0 as number | null, stdout: "", stderr: "" };
    for (let i = 0; i < 30 && removed.stdout === ""; i++) {
      removed = script(manager, "remove.sh", [worker.address]);
      if (removed.stdout === "") await new Promise((r) => setTimeout(r, 1000));
    }
    expect(removed).toEqual({ status: 0, stdout: `swarm: removed ${workerId}`, stderr: "" });
    expect(manager.docker(["node", "ls", "-q"])).toBe(managerId);
    // The delete of a node that is gone already is not an error (a re-run after a partial delete).
    expect(script(manager, "drain.sh", [workerId]).status).toBe(0);
  }, 120_000);
});

/**
 * `npm run bench:swarm`: the swarm platform on PRIVATE engines (own network namespaces, data-roots and sockets;
 * never this machine's engine), with the program's own specs (testkit/swarm/deploy.ts), printing:
 *   1. a version bump of the EMS API (2 replicas, start-first) under the client loop that stands in for Traefik
 *      (testkit/swarm/client.ts): requests answered and failed (target 0);
 *   2. a three-engine cluster (each engine in its own namespace, wired to a hub bridge) joined by the program's
 *      own scripts (components/scripts/swarm): the EMS API at 3 replicas spread one per node (its uploads on
 *      `swarm.sharedStorage`, with a local volume standing in for NFS); one worker's engine is stopped and the time
 *      until 3 tasks run again on the other two is printed.
 * Needs root, dockerd, nsenter, ip; takes 2 to 4 minutes. Not part of the tests (2 shared cores).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { joinInput, labelArgs, managerAddress, swarmScript } from "../components/swarmCluster";
import { plain } from "../testkit/engineSpec";
import { STANDIN_IMAGES as IMAGES, SwarmDeployment, startClient, swarmSpecs } from "../testkit/swarm/deploy";
import { Hub, PrivateEngine, privateEngineUnavailable } from "../testkit/swarm/engine";

/** Shared storage as the config gives it (the bench mounts a local volume in its place). */
const BENCH_NFS = { type: "nfs", address: "10.233.0.100", path: "/srv/ems" };

function script(engine: PrivateEngine, name: string, args: string[], input = swarmScript(name)): string {
  const r = spawnSync("sh", ["-s", "--", ...args], { input, env: engine.env, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
  return r.stdout.trim();
}

async function rollingUpdate(): Promise<void> {
  const engine = new PrivateEngine("bench-swarm");
  const binds = fs.mkdtempSync(path.join(os.tmpdir(), "ems-bench-binds-"));
  try {
    await engine.start();
    engine.docker(["swarm", "init", "--advertise-addr", engine.address]);
    // The APIs run on the node holding their uploads (the Postgres pin): this one.
    SwarmDeployment.labelNode(engine, { "ems.postgres": "true" });
    SwarmDeployment.loadImages(engine);
    const run = await swarmSpecs({ ems: "1.2.1", sms: "1.1.0" });
    const deployment = new SwarmDeployment(engine, run);
    await deployment.createObjects();
    deployment.bindUnder(binds);
    await deployment.createService("ems", IMAGES.ems, 8181);
    await deployment.waitRunning("ems", 2, IMAGES.ems, 90_000);
    const key = plain<Record<string, string>>(run.outputs.apiKeys).ems;
    const client = startClient(engine, "ems_system-ems", 8181, key, 1000);
    const started = Date.now();
    await deployment.updateService(await swarmSpecs({ ems: "1.2.2", sms: "1.1.0" }), "ems", IMAGES.emsNext, 8181);
    const state = await deployment.waitUpdate("ems", ["completed", "paused", "rollback_completed"], 300_000);
    await deployment.waitRunning("ems", 2, IMAGES.emsNext, 90_000);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const r = await client.stop();
    console.log(
      `rolling update ems 1.2.1 -> 1.2.2 (2 replicas, start-first): ${state} in ${seconds} s; ` +
        `${r.requests} requests, ${r.ok} answered 200, ${r.limited} rate-limited, ${r.failed} failed, ${r.retried} retried`,
    );
  } finally {
    engine.stop();
    fs.rmSync(binds, { recursive: true, force: true });
  }
}

async function nodeLoss(): Promise<void> {
  const hub = new Hub();
  const engines = [1, 2, 3].map((i) => new PrivateEngine(`bench-node${i}`, `10.233.0.${i}`));
  // Bind folders the same on every node (HostLayout makes them on each; here one machine holds all).
  const binds = fs.mkdtempSync(path.join(os.tmpdir(), "ems-bench-binds-"));
  try {
    await Promise.all(engines.map((e) => e.start(hub)));
    const [manager, ...workers] = engines;
    const managerId = script(manager, "init.sh", [manager.address]);
    const tokens = script(manager, "tokens.sh", []);
    const ids = [managerId];
    for (const w of workers)
      ids.push(script(w, "join.sh", [], joinInput(tokens, "worker", managerAddress(manager.address), w.address)));
    script(manager, "label.sh", labelArgs(managerId, { role: "manager", labels: { "ems.acme": "true" } }));
    for (const e of engines) SwarmDeployment.loadImages(e);
    // Tasks spread across the nodes only with the uploads on shared storage.
    const run = await swarmSpecs({ ems: "1.2.1", sms: "1.1.0" }, { sharedStorage: BENCH_NFS });
    const deployment = new SwarmDeployment(manager, run, engines);
    await deployment.createObjects();
    deployment.bindUnder(binds);
    const spec = deployment.spec(run, "ems", IMAGES.ems, 8181);
    spec.Mode = { Replicated: { Replicas: 3 } };
    // No NFS server here: a node-local volume of the same name stands in (what is measured is the rescheduling).
    delete spec.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions;
    const created = await manager.api<{ ID: string }>("POST", "/services/create", spec);
    deployment.serviceIds.ems = created.ID;
    await deployment.waitRunning("ems", 3, IMAGES.ems, 120_000);
    const perNode = async () =>
      (await deployment.tasks("ems"))
        .filter((t) => t.Status.State === "running" && t.DesiredState === "running")
        .map((t) => t.NodeID as string);
    console.log(
      `3 nodes joined by the program's scripts; ems tasks per node: ${JSON.stringify(countBy(await perNode()))}`,
    );
    const lost = workers[1];
    const lostId = ids[2];
    const started = Date.now();
    const pid = Number(fs.readFileSync(path.join(lost.dir, "docker.pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    let running: string[] = [];
    while (Date.now() - started < 300_000) {
      running = await perNode();
      if (running.length === 3 && !running.includes(lostId)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `worker engine killed: 3 ems tasks running on the other nodes again after ${seconds} s ` +
        `(${JSON.stringify(countBy(running))}; Swarm marks a node down after missed heartbeats, then reschedules)`,
    );
  } finally {
    for (const e of engines.reverse()) e.stop();
    hub.remove();
    fs.rmSync(binds, { recursive: true, force: true });
  }
}

function countBy(ids: string[]): Record<string, number> {
  return ids.reduce<Record<string, number>>(
    (acc, id) => ({ ...acc, [id.slice(0, 8)]: (acc[id.slice(0, 8)] ?? 0) + 1 }),
    {},
  );
}

async function main(): Promise<void> {
  const reason = privateEngineUnavailable();
  if (reason) {
    console.log(`bench:swarm skipped: ${reason}`);
    return;
  }
  await rollingUpdate();
  await nodeLoss();
}

main().catch((e: Error) => {
  console.error(`bench:swarm: ${e.stack ?? e.message}`);
  process.exit(1);
});

/**
 * Nothing the swarm platform stores is lost or split between nodes (under the Pulumi mocks, the prod stack on
 * `platform: swarm`): the APIs' uploads are on one node and every API task runs there, or on a shared NFS export
 * and the tasks spread; the folders are made only where they live; the Postgres and Portainer data volumes are
 * protected docker.Volume resources made through their node's own engine.
 */
import { parseStackConfig } from "../../stacks/config";
import { swarmNodeFolders } from "../../stacks/swarm";
import { plain, RecordedResource, runStack, StackRun, swarmProdConfig, SWARM_NODES, T, TEST_SECRETS } from "../support";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- provider input shapes

const SHARED = { type: "nfs", address: "192.0.2.50", path: "/srv/ems", options: ["nfsvers=4.1", "hard"] };
const withShared = () =>
  swarmProdConfig({ "ems-infra:swarm": JSON.stringify({ nodes: SWARM_NODES, sharedStorage: SHARED }) });

let run: StackRun;
let shared: StackRun;
beforeAll(async () => {
  run = await runStack("prod", swarmProdConfig());
  shared = await runStack("prod", withShared());
}, 60_000);

const service = (r: StackRun, name: string) => plain<Json>(r.get(T.service, name).inputs);
const nameOf = (resource: unknown) => (resource as { __name?: string }).__name;
const folders = (config: Record<string, string>) => {
  const cfg = parseStackConfig("prod", config, new Set(Object.keys(TEST_SECRETS)), "/home/dev", "/work/repo");
  return Object.fromEntries(
    cfg.swarm!.nodes.map((n) => [n.address, swarmNodeFolders(cfg as Parameters<typeof swarmNodeFolders>[0], n)]),
  );
};
const layoutCommand = (r: StackRun, node: string) =>
  plain<string>(r.get(T.localCommand, `host-layout-${node}-data-folders`).inputs.create);

describe("by default the uploads are on one node, and every API task runs there", () => {
  test("both APIs are constrained to the uploads node (the Postgres pin), bind-mounting its folders", () => {
    for (const [name, port] of [
      ["ems", "ems"],
      ["sms", "sms"],
    ]) {
      const spec = service(run, name).taskSpec;
      expect(spec.placement).toEqual({ constraints: ["node.labels.ems.postgres==true"] });
      expect(spec.containerSpec.mounts[0]).toEqual({
        type: "bind",
        source: `/root/ems_system/data/uploads/${port}`,
        target: "/app/uploads",
      });
    }
    // Two replicas on that node still roll start-first.
    expect(service(run, "ems").mode).toEqual({ replicated: { replicas: 2 } });
    expect(service(run, "ems").updateConfig.order).toBe("start-first");
  });

  test("the uploads and API log folders are made on that node only; the other nodes hold only what is pinned to them", () => {
    expect(folders(swarmProdConfig())).toEqual({
      "192.0.2.10": [
        { path: "/root/infra/letsencrypt", mode: "700" },
        { path: "/root/infra/traefik/dynamic", mode: "700" },
      ],
      "192.0.2.11": [
        { path: "/root/ems_system/.secrets", mode: "700" },
        { path: "/root/ems_system/data/backups" },
        { path: "/root/ems_system/data/uploads/ems" },
        { path: "/root/ems_system/data/uploads/sms" },
        { path: "/root/ems_system/data/logs/ems" },
        { path: "/root/ems_system/data/logs/sms" },
      ],
      "192.0.2.12": [],
    });
    expect(layoutCommand(run, "192-0-2-11")).toContain(":/root/ems_system/data/uploads/ems");
    expect(layoutCommand(run, "192-0-2-10")).not.toContain("/uploads/");
    expect(layoutCommand(run, "192-0-2-12")).not.toContain("/root/ems_system");
  });

  test("swarm.pins.uploads moves the APIs and their folders to another node", () => {
    const nodes = [SWARM_NODES[0], SWARM_NODES[1], { ...SWARM_NODES[2], labels: { "ems.uploads": "true" } }];
    const config = swarmProdConfig({
      "ems-infra:swarm": JSON.stringify({ nodes, pins: { uploads: "ems.uploads=true" } }),
    });
    const placed = folders(config);
    expect(placed["192.0.2.12"].map((f) => f.path)).toEqual([
      "/root/ems_system/data/uploads/ems",
      "/root/ems_system/data/uploads/sms",
      "/root/ems_system/data/logs/ems",
      "/root/ems_system/data/logs/sms",
    ]);
    expect(placed["192.0.2.11"]).toEqual([
      { path: "/root/ems_system/.secrets", mode: "700" },
      { path: "/root/ems_system/data/backups" },
    ]);
  });
});

describe("with swarm.sharedStorage the uploads are on the NFS export and the tasks spread", () => {
  test("the uploads mount is a local volume with the NFS options, one folder per system and service", () => {
    const ems = service(shared, "ems").taskSpec;
    const mount = ems.containerSpec.mounts[0];
    expect(mount).toEqual({
      type: "volume",
      source: expect.stringMatching(/^ems_system-ems-uploads-[0-9a-f]{12}$/),
      target: "/app/uploads",
      volumeOptions: {
        driverName: "local",
        driverOptions: { type: "nfs", o: "addr=192.0.2.50,nfsvers=4.1,hard", device: ":/srv/ems/ems_system/ems" },
      },
    });
    expect(service(shared, "sms").taskSpec.containerSpec.mounts[0].volumeOptions.driverOptions.device).toBe(
      ":/srv/ems/ems_system/sms",
    );
    expect(ems.containerSpec.mounts[1]).toEqual({
      type: "bind",
      source: "/root/ems_system/data/logs/ems",
      target: "/app/Documents/MeuAppDart/logs",
    });
    expect(ems.placement).toEqual({ prefs: ["spread=node.id"] });
  });

  test("new NFS options give the volume a new name (a node keeps an existing volume's options)", async () => {
    const moved = await runStack(
      "prod",
      swarmProdConfig({
        "ems-infra:swarm": JSON.stringify({ nodes: SWARM_NODES, sharedStorage: { ...SHARED, address: "192.0.2.51" } }),
      }),
    );
    const source = (r: StackRun) => service(r, "ems").taskSpec.containerSpec.mounts[0].source;
    expect(source(moved)).not.toBe(source(shared));
    expect(service(moved, "ems").taskSpec.containerSpec.mounts[0].volumeOptions.driverOptions.o).toBe(
      "addr=192.0.2.51,nfsvers=4.1,hard",
    );
  }, 60_000);

  test("no node gets an uploads folder; every node gets the API log folders (a task may run anywhere)", () => {
    const placed = folders(withShared());
    for (const node of ["192.0.2.10", "192.0.2.11", "192.0.2.12"]) {
      expect(placed[node].map((f) => f.path)).not.toContain("/root/ems_system/data/uploads/ems");
      expect(placed[node].map((f) => f.path)).toEqual(
        expect.arrayContaining(["/root/ems_system/data/logs/ems", "/root/ems_system/data/logs/sms"]),
      );
    }
  });
});

describe("the data volumes are protected resources on their node's engine", () => {
  const volume = (r: StackRun, name: string): RecordedResource => r.get(T.volume, name);
  const providerHost = (r: StackRun, provider: unknown) =>
    plain<Json>(r.get(T.dockerProvider, nameOf(provider)!).inputs).host;

  test("Postgres's volume: made through 192.0.2.11's engine, protected and retained, mounted by the service", () => {
    const data = volume(run, "postgres-data");
    expect(plain(data.inputs)).toEqual({ name: "postgres_ems_system_data" });
    expect(data.opts.protect).toBe(true);
    expect(data.opts.retainOnDelete).toBe(true);
    expect(data.opts.ignoreChanges).toEqual(["labels", "driverOpts"]);
    expect(nameOf(data.opts.provider)).toBe("docker-192-0-2-11-provider");
    expect(providerHost(run, data.opts.provider)).toBe("ssh://root@192.0.2.11:22");
    expect(service(run, "postgres").taskSpec.containerSpec.mounts).toEqual([
      { type: "volume", source: "postgres_ems_system_data", target: "/var/lib/postgresql/data" },
    ]);
  });

  test("Portainer's volume: on the manager it is pinned to, through the manager's own engine", () => {
    const data = volume(run, "portainer-data");
    expect(plain(data.inputs)).toEqual({ name: "infra_portainer_data" });
    expect(data.opts.protect).toBe(true);
    expect(data.opts.retainOnDelete).toBe(true);
    expect(nameOf(data.opts.provider)).toBe("docker-provider");
    expect(providerHost(run, data.opts.provider)).toBe("ssh://root@192.0.2.10:22");
    expect(service(run, "portainer").taskSpec.containerSpec.mounts).toEqual([
      { type: "volume", source: "infra_portainer_data", target: "/data" },
    ]);
    // One engine per node that holds something: the manager's and the database node's, none for 192.0.2.12.
    expect(run.ofType(T.dockerProvider).map((p) => p.name)).toEqual(["docker-provider", "docker-192-0-2-11-provider"]);
  });
});

/**
 * `platform` and the cluster keys: the default is today's one engine; a swarm config is refused before anything
 * changes, with every bad key named in one message (replicas, managers, pins, a swarm without a manager).
 */
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { committedConfig, SWARM_NODES, swarmProdConfig, TEST_SECRETS } from "../support";
import { runErrorMessage, runFailingStack } from "../stacks/helpers";

const SECRET_KEYS = new Set(Object.keys(TEST_SECRETS));

function problemsOf(config: Record<string, string>): string[] {
  try {
    parseStackConfig("prod", config, SECRET_KEYS, "/home/dev", "/work/repo");
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

const nodes = (list: unknown[]) => ({ "ems-infra:swarm": JSON.stringify({ nodes: list }) });
const services = (ems: Record<string, unknown>, sms: Record<string, unknown> = {}) => ({
  "ems-infra:services": JSON.stringify({
    ems: { version: "1.2.1", port: 8181, ...ems },
    sms: { version: "1.1.0", port: 8080, ...sms },
  }),
});

describe("platform", () => {
  test("defaults to docker with every service at 2 replicas and no swarm: the committed stacks are unchanged", () => {
    for (const stack of ["dev", "prod"] as const) {
      const cfg = parseStackConfig(stack, { ...committedConfig(stack), ...TEST_SECRETS }, SECRET_KEYS, "/h", "/w");
      expect(cfg.platform).toBe("docker");
      expect(cfg.swarm).toBeUndefined();
      expect(cfg.services.map((s) => s.replicas)).toEqual([2, 2]);
    }
  });

  test("a swarm config resolves its nodes, pins and SSH files", () => {
    const cfg = parseStackConfig("prod", swarmProdConfig(), SECRET_KEYS, "/home/dev", "/work/repo");
    expect(cfg.platform).toBe("swarm");
    expect(cfg.swarm).toEqual({
      nodes: SWARM_NODES.map((n) => ({ ...n, user: "root", port: 22 })),
      pins: {
        postgres: "ems.postgres=true",
        traefik: "ems.acme=true",
        portainer: "ems.acme=true",
        uploads: "ems.postgres=true",
      },
      knownHostsFile: "/home/dev/.ssh/known_hosts",
    });
  });

  test("an unknown platform is refused naming the key", () => {
    expect(problemsOf(swarmProdConfig({ "ems-infra:platform": "k8s" }))).toEqual([
      'ems-infra:platform: must be "docker" or "swarm"',
    ]);
  });
});

describe("bad cluster input is refused before anything changes, every key in one message", () => {
  test("replicas of 0 and of -1", () => {
    expect(problemsOf(swarmProdConfig(services({ replicas: 0 }, { replicas: -1 })))).toEqual([
      "ems-infra:services.ems.replicas: must be at least 1 (a service with no task serves nothing)",
      "ems-infra:services.sms.replicas: must be at least 1 (a service with no task serves nothing)",
    ]);
  });

  test("a swarm without a manager, whose pins then match no node either", () => {
    expect(
      problemsOf(
        swarmProdConfig(
          nodes([
            { address: "192.0.2.10", role: "worker" },
            { address: "192.0.2.11", role: "worker" },
          ]),
        ),
      ),
    ).toEqual([
      "ems-infra:swarm.nodes: has no manager (role: manager); the swarm is initialised on the first one",
      'ems-infra:swarm.pins.postgres: "ems.postgres=true" matches no node in ems-infra:swarm.nodes; exactly one node needs the label ems.postgres: "true" (its volume is on one node\'s disk)',
      'ems-infra:swarm.pins.traefik: "ems.acme=true" matches no node in ems-infra:swarm.nodes; exactly one node needs the label ems.acme: "true" (its ACME store is one file on one node (Traefik CE cannot share it))',
      'ems-infra:swarm.pins.portainer: "ems.acme=true" matches no node in ems-infra:swarm.nodes; exactly one node needs the label ems.acme: "true" (its data volume is on one node\'s disk)',
    ]);
  });

  test("two managers (Raft wants 1, 3 or 5), a pin on two nodes, Traefik pinned to a worker, a repeated address, together with a bad replicas", () => {
    const problems = problemsOf(
      swarmProdConfig({
        ...services({ replicas: 0 }),
        ...nodes([
          { address: "192.0.2.10", role: "manager", labels: { "ems.postgres": "true" } },
          { address: "192.0.2.11", role: "manager", labels: { "ems.postgres": "true" } },
          { address: "192.0.2.11", role: "worker", labels: { "ems.acme": "true" } },
        ]),
      }),
    );
    expect(problems).toEqual([
      "ems-infra:services.ems.replicas: must be at least 1 (a service with no task serves nothing)",
      "ems-infra:swarm.nodes: has 2 managers; use 1, 3 or 5 (Raft needs a majority: an even count tolerates no more failures than one less)",
      'ems-infra:swarm.nodes.2.address: "192.0.2.11" is already node 1\'s address',
      'ems-infra:swarm.pins.postgres: "ems.postgres=true" matches 2 nodes in ems-infra:swarm.nodes; exactly one node needs the label ems.postgres: "true" (its volume is on one node\'s disk)',
      'ems-infra:swarm.pins.traefik: "ems.acme=true" matches a worker; Traefik\'s Swarm provider reads the services from a manager\'s API, so the node with ems.acme: "true" must have role: manager',
    ]);
  });

  test("three and five managers are accepted, four are not", () => {
    const managers = (count: number) =>
      nodes(
        Array.from({ length: count }, (_, i) => ({
          address: `192.0.2.${10 + i}`,
          role: "manager",
          labels: i === 0 ? { "ems.acme": "true", "ems.postgres": "true" } : {},
        })),
      );
    expect(problemsOf(swarmProdConfig(managers(3)))).toEqual([]);
    expect(problemsOf(swarmProdConfig(managers(5)))).toEqual([]);
    expect(problemsOf(swarmProdConfig(managers(4)))).toEqual([
      "ems-infra:swarm.nodes: has 4 managers; use 1, 3 or 5 (Raft needs a majority: an even count tolerates no more failures than one less)",
    ]);
  });

  test("a swarm whose Traefik is another system's (traefik.manage: false)", () => {
    const prod = swarmProdConfig();
    const traefik = { ...JSON.parse(prod["ems-infra:traefik"]), manage: false };
    expect(problemsOf({ ...prod, "ems-infra:traefik": JSON.stringify(traefik) })).toEqual([
      "ems-infra:traefik.manage: must be true with ems-infra:platform: swarm (the cluster's own Traefik routes its services)",
    ]);
  });

  test("platform swarm without swarm, and swarm keys with the docker platform", () => {
    const { "ems-infra:swarm": _swarm, ...noSwarm } = swarmProdConfig();
    expect(problemsOf(noSwarm)).toEqual([
      "ems-infra:swarm: is required with ems-infra:platform: swarm (swarm.nodes lists the cluster)",
    ]);
    expect(problemsOf(swarmProdConfig({ "ems-infra:platform": "docker" }))).toEqual([
      'ems-infra:swarm: is only read with ems-infra:platform: swarm (the platform is "docker")',
    ]);
  });

  test("a node label or role outside the grammar (it reaches a shell and a placement constraint)", () => {
    expect(
      problemsOf(
        swarmProdConfig(
          nodes([
            ...SWARM_NODES.slice(0, 2),
            { address: "192.0.2.12", role: "boss", labels: { "x;rm -rf": "true", zone: "a b" } },
          ]),
        ),
      ),
    ).toEqual([
      'ems-infra:swarm.nodes.2.role: must be "manager" or "worker"',
      "ems-infra:swarm.nodes.2.labels.x;rm -rf: must be a node label key: lower-case letters, digits, . _ -",
      "ems-infra:swarm.nodes.2.labels.zone: must be a node label value: letters, digits, . _ -",
    ]);
  });

  test("the uploads pin defaults to the Postgres pin; set, it must match exactly one node", () => {
    const swarm = (extra: Record<string, unknown>) => ({
      "ems-infra:swarm": JSON.stringify({ nodes: SWARM_NODES, ...extra }),
    });
    const parsed = (config: Record<string, string>) =>
      parseStackConfig("prod", config, SECRET_KEYS, "/home/dev", "/work/repo").swarm!.pins.uploads;
    expect(parsed(swarmProdConfig(swarm({ pins: { postgres: "ems.acme=true" } })))).toBe("ems.acme=true");
    expect(problemsOf(swarmProdConfig(swarm({ pins: { uploads: "ems.files=true" } })))).toEqual([
      'ems-infra:swarm.pins.uploads: "ems.files=true" matches no node in ems-infra:swarm.nodes; exactly one node needs the label ems.files: "true" (the APIs\' uploads folders are on one node\'s disk, so every API task runs there (or set swarm.sharedStorage))',
    ]);
    // With shared storage the uploads pin places nothing.
    expect(
      problemsOf(
        swarmProdConfig(
          swarm({
            pins: { uploads: "ems.files=true" },
            sharedStorage: { type: "nfs", address: "192.0.2.50", path: "/srv/ems" },
          }),
        ),
      ),
    ).toEqual([]);
  });

  test("shared storage outside its grammar (the values reach a mount's options and device)", () => {
    const shared = (value: unknown) =>
      swarmProdConfig({ "ems-infra:swarm": JSON.stringify({ nodes: SWARM_NODES, sharedStorage: value }) });
    expect(
      problemsOf(
        shared({
          type: "cifs",
          address: "nas.example.com",
          path: "/srv/ems,uid=0",
          options: ["nfsvers=4", "addr=10.0.0.1", "rw,exec"],
        }),
      ),
    ).toEqual([
      'ems-infra:swarm.sharedStorage.type: must be "nfs"',
      "ems-infra:swarm.sharedStorage.address: must be an IPv4 or IPv6 address",
      "ems-infra:swarm.sharedStorage.path: must be an absolute path of folder names of letters, digits, . _ -",
      "ems-infra:swarm.sharedStorage.options.1: must not set addr (it comes from address)",
      "ems-infra:swarm.sharedStorage.options.2: must be a mount option like nfsvers=4 or hard (letters, digits, _ and a =value)",
    ]);
    expect(problemsOf(shared({ type: "nfs", address: "192.0.2.50", path: "/srv/../etc" }))).toEqual([
      "ems-infra:swarm.sharedStorage.path: must not contain a . or .. segment",
    ]);
    const cfg = parseStackConfig(
      "prod",
      shared({ type: "nfs", address: "2001:db8::50", path: "/srv/ems" }),
      SECRET_KEYS,
      "/h",
      "/w",
    );
    expect(cfg.swarm!.sharedStorage).toEqual({
      type: "nfs",
      address: "2001:db8::50",
      path: "/srv/ems",
      options: ["nfsvers=4"],
    });
  });

  test("an API log folder that is not the server's ($HOME/Documents/MeuAppDart/logs): the task's root is read-only", () => {
    expect(problemsOf(swarmProdConfig(services({ logsDir: "/app/logs" }, { homeDir: "/srv" })))).toEqual([
      "ems-infra:services.ems.logsDir: must be /app/Documents/MeuAppDart/logs (homeDir's Documents/MeuAppDart/logs) with ems-infra:platform: swarm: the server writes its log file there and the task's root is read-only",
      "ems-infra:services.sms.logsDir: must be /srv/Documents/MeuAppDart/logs (homeDir's Documents/MeuAppDart/logs) with ems-infra:platform: swarm: the server writes its log file there and the task's root is read-only",
    ]);
    expect(
      problemsOf(swarmProdConfig(services({ homeDir: "/srv", logsDir: "/srv/Documents/MeuAppDart/logs" }))),
    ).toEqual([]);
  });

  test("a node holding the APIs' folders reached as another user than root (the tasks, root with no capability, could not write there)", () => {
    const asDeploy = SWARM_NODES.map((n) => ({ ...n, user: "deploy" }));
    const message = (i: number) =>
      `ems-infra:swarm.nodes.${i}.user: must be root on a node holding the APIs' folders ("deploy" given): the API tasks run as root with every capability dropped, so they write only into folders root owns, and the folders are made as this user`;
    // Pinned: only the uploads node (192.0.2.11, the Postgres pin) holds them.
    expect(problemsOf(swarmProdConfig(nodes(asDeploy)))).toEqual([message(1)]);
    // Shared storage: every node holds the API log folders.
    const shared = { type: "nfs", address: "192.0.2.50", path: "/srv/ems" };
    expect(
      problemsOf(swarmProdConfig({ "ems-infra:swarm": JSON.stringify({ nodes: asDeploy, sharedStorage: shared }) })),
    ).toEqual([message(0), message(1), message(2)]);
  });

  test("a whole stack run stops with the message before any resource is registered", async () => {
    const failed = await runFailingStack("prod", swarmProdConfig(services({ replicas: 0 })));
    expect(runErrorMessage(failed)).toContain("ems-infra:services.ems.replicas: must be at least 1");
    expect(failed.registered).toEqual([]);
  });
});

/**
 * `npm run switch-platform`'s wiring (ops/commands/switch-platform.ts) with the fake stack and host: the stack's
 * config and outputs turned into the switch's options, the pre-flight's place question asked here and, over the
 * cluster's SSH, on the nodes the Postgres and Traefik pins select; a dry run changes nothing.
 */
import type { ConfigMap, Deployment } from "@pulumi/pulumi/automation";
import type { Captured, HostTarget } from "../../ops/runner/hostShell";
import { switchPlatform } from "../../ops/commands/switch-platform";
import {
  fakeDeps,
  FakeHost,
  fakeIo,
  FakeStack,
  committedConfig,
  prodOutputs,
  swarmProdConfig,
  TEST_SECRETS,
} from "../support";

const VOLUME = "ems_system_pgdata_17";
const HERE = `ORBQ:WS5A vps 2026-11-30T10:00:00Z`;

/** The fake stack with what the switch reads besides: the whole config with its secret flags, and the state import. */
class SwitchStack extends FakeStack {
  imported: Deployment[] = [];
  /** The outputs once `up` ran (the swarm platform's). */
  afterUp?: Record<string, unknown>;
  private upDone = false;
  async up(opts?: Parameters<FakeStack["up"]>[0]): ReturnType<FakeStack["up"]> {
    const r = await super.up(opts);
    this.upDone = true;
    return r;
  }
  async outputs(): ReturnType<FakeStack["outputs"]> {
    if (!this.upDone || !this.afterUp) return super.outputs();
    return Object.fromEntries(
      Object.entries(this.afterUp).map(([k, value]) => [k, { value, secret: k === "apiKeys" }]),
    );
  }
  async getAllConfig(): Promise<ConfigMap> {
    return Object.fromEntries(
      Object.entries(this.config).map(([k, value]) => [k, { value, secret: k in TEST_SECRETS }]),
    );
  }
  importError?: Error;
  async importStack(state: Deployment): Promise<void> {
    if (this.importError) throw this.importError;
    this.imported.push(state);
  }
}

/**
 * A host whose answer to the place question depends on where it is asked (`places` by host address), and that keeps
 * the private files the switch writes (journal, saved state) so that it reads them back.
 */
class Cluster extends FakeHost {
  readonly files = new Map<string, string>();
  readonly inputs: string[] = [];
  /** The status code each API's health check answers (by host name); 200 when absent. */
  health: Record<string, string> = {};
  /** What pg_stat_activity lists in the new Postgres task, `role database` a line. */
  sessions = "";
  constructor(private readonly places: Record<string, string>) {
    super((command) => {
      if (command.includes("State.Running")) return { stdout: "true false 0\n" };
      if (command.includes("--filter 'volume=")) return { stdout: "ems_system-postgres\tems_system\n" };
      if (command.includes("RestartPolicy")) return { stdout: "always\n" };
      if (command.includes("pg_dumpall")) return { stdout: "52133 bytes\n" };
      if (command.startsWith("docker service ls")) return { stdout: "2 2\n" };
      if (command.startsWith("curl ")) return { stdout: "200" };
      return {};
    });
  }
  async capture(target: HostTarget, command: string, options: { input?: string } = {}): Promise<Captured> {
    const r = await super.capture(target, command);
    if (options.input !== undefined) this.inputs.push(options.input);
    const asked = /--resolve '?([^:']+):/.exec(command)?.[1];
    if (command.startsWith("curl ") && asked) return { ...r, stdout: this.health[asked] ?? "200" };
    if (command.includes("pg_stat_activity")) return { ...r, stdout: this.sessions };
    const file = /f='?([^';\s]+)/.exec(command)?.[1];
    if (file && command.includes('cat >"$f.tmp"')) this.files.set(file, options.input ?? "");
    if (file && command.includes('|| cat "$f"')) return { ...r, stdout: this.files.get(file) ?? "" };
    const removed = /^rm -f '?([^'\s]+)'?$/.exec(command)?.[1];
    if (removed) this.files.delete(removed);
    if (!command.includes("docker volume inspect")) return r;
    return { ...r, stdout: `${this.places[target === "local" ? "local" : target.host] ?? "unreachable"}\n` };
  }
}

/** The stack's outputs once the up made the Swarm services. */
const SWARM_OUTPUTS = {
  ...prodOutputs({ platform: "swarm" }),
  containers: {
    postgres: "ems_system-postgres",
    traefik: "ems_system-traefik",
    ems: "ems_system-ems",
    sms: "ems_system-sms",
  },
  apiKeys: { ems: "ems-key-0123456789", sms: "sms-key-0123456789" },
};

const swarmStack = (extra: { state?: Deployment } = {}) =>
  new SwitchStack("prod", {
    config: { ...swarmProdConfig(), ...TEST_SECRETS },
    outputs: { ...prodOutputs(), postgresVolume: VOLUME },
    ...extra,
  });

describe("switch-platform --dry-run", () => {
  test("asks the place here and on the pinned nodes (over SSH), prints the plan and changes nothing", async () => {
    const stack = swarmStack();
    const host = new Cluster({ local: HERE, "192.0.2.10": HERE, "192.0.2.11": HERE });
    const io = fakeIo();
    expect(await switchPlatform.main(["--stack", "prod", "--dry-run"], io, fakeDeps(stack, { host }))).toBe(0);
    expect(stack.changes).toEqual([]);
    expect(stack.imported).toEqual([]);
    const asked = host.commands.filter((c) => c.command.includes("docker volume inspect"));
    expect(asked.map((c) => c.commandHost)).toEqual(["local", "root@192.0.2.11:22", "root@192.0.2.10:22"]);
    expect(asked[0].command).toContain(`docker volume inspect --format '{{.CreatedAt}}' ${VOLUME}`);
    expect(io.stdout).toContain(
      `switch-platform: pre-flight: the pinned Postgres and Traefik node is this stack's engine and disk (${HERE})`,
    );
    expect(io.stdout).toContain("\n  3. stop (kept, restart policy no): infra_traefik, ems_system-postgres\n");
    expect(io.stdout).toContain(
      "\n  2. backup: pg_dumpall of ems_system-postgres into /root/ems_system/data/platform-switch, verified\n",
    );
    expect(io.stdout).toContain("switch-platform: dry run: nothing was changed\n");
  });

  test("refused when the Postgres pin selects another machine, naming the key", async () => {
    const stack = swarmStack();
    const elsewhere = "ORBQ:WS5A vps absent";
    const host = new Cluster({ local: HERE, "192.0.2.10": HERE, "192.0.2.11": elsewhere });
    const io = fakeIo();
    expect(await switchPlatform.main(["--stack", "prod", "--dry-run"], io, fakeDeps(stack, { host }))).toBe(1);
    expect(io.stdout).toContain(
      `switch-platform: pre-flight: REFUSED: the node ems-infra:swarm.pins.postgres selects is "${elsewhere}"`,
    );
    expect(io.stdout).toContain("switch-platform: nothing was changed\n");
  });

  test("a stack whose config still says docker: told to set the platform first (exit 2)", async () => {
    const stack = new SwitchStack("prod", {
      config: { ...committedConfig("prod"), ...TEST_SECRETS },
      outputs: prodOutputs(),
    });
    const io = fakeIo();
    expect(await switchPlatform.main(["--stack", "prod", "--dry-run"], io, fakeDeps(stack))).toBe(2);
    expect(io.stderr).toContain('switch-platform: ems-infra:platform is "docker" in stack prod: set it to swarm');
  });
});

describe("switch-platform, a whole run with the fake stack and host", () => {
  test("dump, stop in order, the state without the old containers, up with platformSwitch, gate through Traefik, done", async () => {
    const stack = swarmStack({
      state: {
        version: 3,
        deployment: {
          manifest: {},
          resources: [
            { urn: "urn:pulumi:prod::ems-infra::pulumi:pulumi:Stack::ems-infra-prod", type: "pulumi:pulumi:Stack" },
            {
              urn: "urn:pulumi:prod::ems-infra::ems:infra:Postgres$docker:index/container:Container::postgres",
              type: "docker:index/container:Container",
              protect: false,
            },
          ],
        },
      } as unknown as Deployment,
    });
    stack.afterUp = SWARM_OUTPUTS;
    const host = new Cluster({ local: HERE, "192.0.2.10": HERE, "192.0.2.11": HERE });
    const io = fakeIo();
    const code = await switchPlatform.main(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host }));
    expect(`${io.stdout}${io.stderr}`).toContain("switched:");
    expect(code).toBe(0);

    expect(stack.changes).toEqual([
      "setConfig ems-infra:platformSwitch=swarm",
      "up switch-platform: docker → swarm",
      "removeConfig ems-infra:platformSwitch",
    ]);
    expect(stack.imported).toHaveLength(1);
    expect(JSON.stringify(stack.imported[0])).not.toContain("docker:index/container:Container");
    const local = host.commands.filter((c) => c.commandHost === "local").map((c) => c.command);
    const stops = local.filter((c) => c.startsWith("docker update --restart=no"));
    expect(stops.map((c) => c.split(" ")[3])).toEqual(["infra_traefik", "ems_system-postgres"]);
    expect(local.findIndex((c) => c.includes("pg_dumpall"))).toBeLessThan(local.indexOf(stops[0]));
    const curls = local.filter((c) => c.startsWith("curl "));
    expect(curls).toEqual([
      "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --resolve api.ems.edumigsoft.com.br:443:127.0.0.1 -H @- https://api.ems.edumigsoft.com.br:443/api/v1/health",
      "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --resolve api.sms.edumigsoft.com.br:443:127.0.0.1 -H @- https://api.sms.edumigsoft.com.br:443/api/v1/health",
    ]);
    // The API keys travel on stdin only.
    expect(host.inputs).toContain("x-api-key: ems-key-0123456789\n");
    expect(host.commands.some((c) => c.command.includes("ems-key-0123456789"))).toBe(false);
    // Journal and saved state gone, the old containers removed.
    expect([...host.files.keys()]).toEqual([]);
    expect(local.filter((c) => c.startsWith("docker rm "))).toEqual([
      "docker rm infra_traefik >/dev/null",
      "docker rm ems_system-postgres >/dev/null",
    ]);
    expect(io.stdout).toMatch(
      /switch-platform: switched: stack prod runs on swarm; backup \/root\/ems_system\/data\/platform-switch\/cluster_\d{8}T\d{6}Z\.sql\.gz/,
    );
  });

  test("an unexpected error after the stop (the state import refused) is undone: the old containers start again", async () => {
    const stack = swarmStack();
    stack.importError = new Error("pulumi stack import: the stack is locked");
    const host = new Cluster({ local: HERE, "192.0.2.10": HERE, "192.0.2.11": HERE });
    const io = fakeIo();
    expect(await switchPlatform.main(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host }))).toBe(1);
    expect(stack.changes).toEqual(["removeConfig ems-infra:platformSwitch"]);
    expect(io.stdout).toContain("switch-platform: FAILED: pulumi stack import: the stack is locked\n");
    const local = host.commands.filter((c) => c.commandHost === "local").map((c) => c.command);
    expect(local.filter((c) => c.startsWith("docker update --restart=always"))).toEqual([
      "docker update --restart=always ems_system-postgres >/dev/null && docker start ems_system-postgres >/dev/null",
      "docker update --restart=always infra_traefik >/dev/null && docker start infra_traefik >/dev/null",
    ]);
    // No Swarm service was made (the up never ran): the manager is not asked to remove any.
    expect(host.commands.some((c) => c.command.includes("docker service rm"))).toBe(false);
    expect([...host.files.keys()]).toEqual([]);
    expect(io.stdout).toContain("switch-platform: undone: the one-engine system runs again");
  });
});

describe("switch-platform's gate: the cut-over's (200, or the rate-limit 403 while the API is logged into PostgreSQL)", () => {
  /** The sessions query, run in the Postgres task on this host (found by its service label). */
  const SESSIONS_IN_TASK =
    `docker exec "$(docker ps -q --filter label=com.docker.swarm.service.name=ems_system-postgres | head -n 1)" ` +
    `psql -X -A -t -q -U postgres -d postgres -c`;

  afterEach(() => jest.useRealTimers());

  /** Runs the whole switch, the clock moved on while the gate waits (5 minutes of probes every 5 s). */
  async function switchWith(host: Cluster): Promise<{ code: number; stdout: string; stack: SwitchStack }> {
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate"] });
    const stack = swarmStack();
    stack.afterUp = SWARM_OUTPUTS;
    const io = fakeIo();
    let code: number | undefined;
    void switchPlatform.main(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host })).then((c) => (code = c));
    for (let i = 0; code === undefined && i < 1000; i++) await jest.advanceTimersByTimeAsync(5_000);
    return { code: code ?? -1, stdout: io.stdout, stack };
  }

  test("an API kept at 403 by live clients' traffic while its role holds a session in the new PostgreSQL: switched", async () => {
    const host = new Cluster({ local: HERE, "192.0.2.10": HERE, "192.0.2.11": HERE });
    host.health = { "api.ems.edumigsoft.com.br": "403" };
    host.sessions = "ems_user ems_production\nsms_user sms_production\n";
    const { code, stdout } = await switchWith(host);
    expect(stdout).toContain(
      "ems: https://api.ems.edumigsoft.com.br/api/v1/health answers 403 (its one 20/min bucket is full) and is logged into PostgreSQL as ems_user on ems_production; " +
        "sms: https://api.sms.edumigsoft.com.br/api/v1/health answers 200",
    );
    expect(stdout).toContain("switch-platform: switched: stack prod runs on swarm");
    expect(code).toBe(0);
    const sessions = host.commands.filter((c) => c.command.includes("pg_stat_activity"));
    expect(sessions.map((c) => c.commandHost)).toEqual(["local"]);
    expect(sessions[0].command.startsWith(SESSIONS_IN_TASK)).toBe(true);
  });

  test("an API at 403 whose role holds no session (it never logged in): the gate times out, the switch is undone naming it", async () => {
    const host = new Cluster({ local: HERE, "192.0.2.10": HERE, "192.0.2.11": HERE });
    host.health = { "api.sms.edumigsoft.com.br": "403" };
    host.sessions = "ems_user ems_production\n";
    const { code, stdout, stack } = await switchWith(host);
    expect(stdout).toContain(
      "switch-platform: FAILED: the swarm does not serve: sms did not answer its health gate at https://api.sms.edumigsoft.com.br/api/v1/health: " +
        "HTTP 403 (rate-limited) and no session of sms_user on sms_production in the new PostgreSQL\n",
    );
    expect(code).toBe(1);
    expect(stack.imported).toHaveLength(2); // the old platform out of the state, then the saved state back
    expect(host.commands.some((c) => c.command.includes("docker service rm"))).toBe(true);
    expect(stdout).toContain("switch-platform: undone: the one-engine system runs again");
    // It probed for the whole gate, at its pace: not a burst into the one 20/min bucket.
    const probes = host.commands.filter((c) => c.command.includes("--resolve api.sms.edumigsoft.com.br:"));
    expect(probes.length).toBeGreaterThan(50);
    expect(probes.length).toBeLessThanOrEqual(61);
  });
});

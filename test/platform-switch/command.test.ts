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
  async getAllConfig(): Promise<ConfigMap> {
    return Object.fromEntries(
      Object.entries(this.config).map(([k, value]) => [k, { value, secret: k in TEST_SECRETS }]),
    );
  }
  async importStack(state: Deployment): Promise<void> {
    this.imported.push(state);
  }
}

/** A host whose answer to the place question depends on where it is asked (`places` by host address). */
class Cluster extends FakeHost {
  constructor(private readonly places: Record<string, string>) {
    super((command) => {
      if (command.includes("State.Running")) return { stdout: "true false 0\n" };
      if (command.includes("--filter 'volume=")) return { stdout: "ems_system-postgres\tems_system\n" };
      if (command.includes("RestartPolicy")) return { stdout: "always\n" };
      return {};
    });
  }
  async capture(target: HostTarget, command: string): Promise<Captured> {
    const r = await super.capture(target, command);
    if (!command.includes("docker volume inspect")) return r;
    return { ...r, stdout: `${this.places[target === "local" ? "local" : target.host] ?? "unreachable"}\n` };
  }
}

const swarmStack = () =>
  new SwitchStack("prod", {
    config: { ...swarmProdConfig(), ...TEST_SECRETS },
    outputs: { ...prodOutputs(), postgresVolume: VOLUME },
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

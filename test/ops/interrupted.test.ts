/**
 * An `up` killed during a create leaves `pending_operations` (provider-facts §9). Two real state shapes: Traefik
 * (fixed name, delete-before-replace: the old one is gone, the new one exists on the host only) and an API container
 * (autonamed, create-before-delete: the orphan serves beside the old one with the same router labels). The release
 * flow says what it found, removes the orphan (by its name, checked by the system's labels), clears the pending
 * creates with a refresh and then deploys. The host command lines also run against the real dockerd.
 */
import { deploy as deployCommand } from "../../ops/commands/deploy";
import { boundShell } from "../../ops/runner/hostShell";
import {
  describeRecovery,
  findPendingOperations,
  clearInterrupted,
  judgeOrphan,
  ORPHAN_COMMANDS,
  recoveryPlan,
  removeOrphans,
} from "../../ops/interrupted";
import { describeWithDocker, docker, DockerScratch, IMAGES, buildTestImages } from "../support";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, stateFixture } from "../support";

const deploy = deployCommand.main;

const TRAEFIK_URN = "urn:pulumi:prod::ems-infra::ems:infra:Traefik$docker:index/container:Container::traefik";
const EMS_URN = "urn:pulumi:prod::ems-infra::ems:infra:ApiService$docker:index/container:Container::ems";
const SYSTEM = { "com.ems.environment": "production", "com.ems.system": "ems_system" };
const DEPLOY = ["--stack", "prod", "--service", "ems", "--version", "1.5.0", "--yes"];

/** A host where `docker ps … name=^/<name>$ | xargs docker inspect` finds `found` (id → labels) by name. */
function hostWith(found: Record<string, { id: string; labels: Record<string, string> }>): FakeHost {
  return new FakeHost((command) => {
    const name = /--filter 'name=\^\/(.+)\$'/.exec(command)?.[1]?.replace(/\\\./g, ".");
    if (name !== undefined && command.includes(" ps -aq ")) {
      const c = found[name];
      return { stdout: c ? `${c.id} ${JSON.stringify(c.labels)}\n` : "" };
    }
    return {};
  });
}

describe("the state shapes an interrupted create leaves", () => {
  test("Traefik (fixed name): a creating entry with its name, its grace, and labels that are a secret", () => {
    expect(findPendingOperations(stateFixture("state-interrupted-traefik.json"))).toEqual([
      {
        urn: TRAEFIK_URN,
        name: "traefik",
        type: "docker:index/container:Container",
        operation: "creating",
        containerName: "infra_traefik",
        identity: {},
        graceSeconds: 15,
      },
    ]);
  });

  test("an API container (autonamed): the name the engine gave it before the create, and its identity labels", () => {
    expect(findPendingOperations(stateFixture("state-interrupted-api.json"))).toEqual([
      {
        urn: EMS_URN,
        name: "ems",
        type: "docker:index/container:Container",
        operation: "creating",
        containerName: "ems-3f9c2a1",
        identity: { ...SYSTEM, "com.ems.service": "ems" },
        graceSeconds: 30,
      },
    ]);
  });

  test("states without pending operations plan nothing", () => {
    for (const f of ["state-healthy.json", "state-failed-health.json"]) {
      const plan = recoveryPlan(findPendingOperations(stateFixture(f)));
      expect(plan).toEqual({ steps: [], clearPendingCreates: false });
      expect(describeRecovery(plan)).toBe("");
    }
  });
});

describe("the release flow's plan for each", () => {
  test("Traefik: remove the orphan infra_traefik (15 s to stop), clear, up", () => {
    const plan = recoveryPlan(findPendingOperations(stateFixture("state-interrupted-traefik.json")));
    expect(plan.steps.map((s) => [s.kind, s.pending.name])).toEqual([["remove-orphan", "traefik"]]);
    expect(plan.clearPendingCreates).toBe(true);
    expect(describeRecovery(plan)).toBe(
      [
        "The last update was interrupted: the state holds operations it never finished:",
        "  creating traefik (docker:index/container:Container)",
        "    the container it was creating (infra_traefik) may exist on the host without being in the state: it is " +
          "removed (after 15 s to stop), then created again by the up",
        "After the confirmation, before the up: the orphans are removed and the pending creates cleared " +
          "(pulumi refresh --clear-pending-creates, which also re-reads every resource).",
        "",
      ].join("\n"),
    );
  });

  test("API: remove the orphan ems-3f9c2a1 (30 s to stop); the old ems container is not touched", () => {
    const plan = recoveryPlan(findPendingOperations(stateFixture("state-interrupted-api.json")));
    expect(plan.steps.map((s) => [s.kind, s.pending.containerName])).toEqual([["remove-orphan", "ems-3f9c2a1"]]);
    expect(describeRecovery(plan)).toContain("(ems-3f9c2a1) may exist on the host");
    expect(describeRecovery(plan)).toContain("after 30 s to stop");
  });

  test("a pending create of something else is cleared only; other pending operations are left to the engine", () => {
    const plan = recoveryPlan([
      {
        urn: "u1",
        name: "proxy",
        type: "docker:index/network:Network",
        operation: "creating",
        identity: {},
        graceSeconds: 0,
      },
      {
        urn: "u2",
        name: "db",
        type: "docker:index/container:Container",
        operation: "deleting",
        identity: {},
        graceSeconds: 0,
      },
    ]);
    expect(plan.steps.map((s) => s.kind)).toEqual(["clear", "note"]);
    expect(describeRecovery(plan)).toContain("a leftover on the host is not removed");
    expect(recoveryPlan([plan.steps[1].pending]).clearPendingCreates).toBe(false);
  });
});

describe("deploy after an interrupted create", () => {
  it("Traefik: says what it found, removes the orphan, clears the pending create, then deploys", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      state: stateFixture("state-interrupted-traefik.json"),
      previewChanges: { create: 1, same: 15 },
    });
    const host = hostWith({ infra_traefik: { id: "d00dfeed01", labels: { ...SYSTEM, "com.ems.service": "traefik" } } });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host }))).toBe(0);
    expect(stack.changes).toEqual([
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
      "preview",
      "refresh --clear-pending-creates",
      "up deploy ems 1.5.0",
    ]);
    expect(host.withoutPreflight.map((c) => c.command).slice(0, 2)).toEqual([
      "docker ps -aq --no-trunc --filter 'name=^/infra_traefik$' | xargs -r docker inspect --format '{{.Id}} {{json .Config.Labels}}'",
      "docker stop -t 15 d00dfeed01 >/dev/null && docker rm d00dfeed01",
    ]);
    expect(io.stdout).toContain("  creating traefik (docker:index/container:Container)\n");
    expect(io.stdout).toContain("traefik: removed the orphan container infra_traefik (d00dfeed01)\n");
    expect(io.stdout.indexOf("creating traefik")).toBeLessThan(io.stdout.indexOf("Previewing"));
    expect(io.stdout.indexOf("removed the orphan")).toBeGreaterThan(io.stdout.indexOf("planned:"));
  });

  it("API: removes the orphan that serves with the router labels, and keeps the old container", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      state: stateFixture("state-interrupted-api.json"),
      previewChanges: { replace: 1, same: 15 },
    });
    const host = hostWith({
      "ems-3f9c2a1": { id: "0rphan0ems", labels: { ...SYSTEM, "com.ems.service": "ems", "traefik.enable": "true" } },
    });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host }))).toBe(0);
    const removals = host.commands.filter((c) => c.command.includes(" rm "));
    expect(removals.map((c) => c.command)).toEqual(["docker stop -t 30 0rphan0ems >/dev/null && docker rm 0rphan0ems"]);
    expect(stack.refreshOptions?.clearPendingCreates).toBe(true);
    // A plain up: the old container is healthy and in the state (no init error), replaced health-gated as usual.
    expect(stack.upOptions && "replace" in stack.upOptions).toBe(false);
  });

  it("a container by that name that is not this system's is left alone, and nothing is deployed", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, state: stateFixture("state-interrupted-traefik.json") });
    const other = { "com.ems.environment": "production", "com.ems.system": "ems_lab" };
    const host = hostWith({ infra_traefik: { id: "0therfeed1", labels: other } });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host }))).toBe(1);
    expect(stack.changes).toEqual(["setConfig ems-infra:services.ems.version=1.5.0 --path", "preview"]);
    expect(host.commands.some((c) => c.command.includes(" rm "))).toBe(false);
    expect(io.stderr).toContain(
      "a container named infra_traefik exists on local but is not this system's (com.ems.system=ems_lab, not " +
        "ems_system): it is left alone; remove or rename it by hand, then run again",
    );
  });

  it("no orphan on the host (killed before the engine created it): only the pending create is cleared", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, state: stateFixture("state-interrupted-api.json") });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host: hostWith({}) }))).toBe(0);
    expect(io.stdout).toContain("ems: no container ems-3f9c2a1 on local (the create never reached the engine)\n");
    expect(stack.calls.filter((c) => /^(refresh|up)/.test(c))).toEqual([
      "refresh --clear-pending-creates",
      "up deploy ems 1.5.0",
    ]);
  });

  it("a no at the prompt touches neither the host nor the state", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      state: stateFixture("state-interrupted-traefik.json"),
      previewChanges: { create: 1 },
    });
    const host = hostWith({ infra_traefik: { id: "d00dfeed01", labels: SYSTEM } });
    expect(await deploy(DEPLOY.slice(0, -1), fakeIo({ tty: true, answers: ["n"] }), fakeDeps(stack, { host }))).toBe(1);
    expect(host.withoutPreflight).toEqual([]);
    expect(stack.calls).not.toContain("refresh --clear-pending-creates");
  });

  it("a failed refresh stops before the up, and says to run again", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      state: stateFixture("state-interrupted-api.json"),
      refreshError: new Error("refresh failed: connection refused"),
    });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host: hostWith({}) }))).toBe(1);
    expect(stack.calls.some((c) => c.startsWith("up"))).toBe(false);
    expect(io.stderr).toContain("error: the interrupted update could not be cleaned up, nothing was deployed");
  });
});

describe("clearInterrupted: the step the release flow and the cut-over share", () => {
  test("at ems-infra:docker.host: the orphan is found and removed with -H from this machine, then the refresh", async () => {
    const host = new FakeHost((command) =>
      command.includes(" ps -aq ")
        ? { stdout: `feed01 ${JSON.stringify({ ...SYSTEM, "com.ems.service": "ems" })}\n` }
        : {},
    );
    const stack = new FakeStack("prod", {});
    let printed = "";
    const plan = recoveryPlan(findPendingOperations(stateFixture("state-interrupted-api.json")));
    const selector = { system: "ems_system", environment: "production" };
    await clearInterrupted(
      stack,
      plan,
      { shell: boundShell("local", host), selector, dockerHost: "ssh://root@vps" },
      (t) => {
        printed += t;
      },
    );
    expect(host.commands.map((c) => c.command)).toEqual([
      "docker -H ssh://root@vps ps -aq --no-trunc --filter 'name=^/ems-3f9c2a1$' | xargs -r docker -H ssh://root@vps inspect --format '{{.Id}} {{json .Config.Labels}}'",
      "docker -H ssh://root@vps stop -t 30 feed01 >/dev/null && docker -H ssh://root@vps rm feed01",
    ]);
    expect(stack.calls).toEqual(["refresh --clear-pending-creates"]);
    expect(printed).toContain("ems: removed the orphan container ems-3f9c2a1 (feed01)\n");
  });

  test("a failing removal stops before the refresh", async () => {
    const host = new FakeHost((command) =>
      command.includes(" ps -aq ")
        ? { stdout: `feed01 ${JSON.stringify(SYSTEM)}\n` }
        : command.includes(" rm ")
          ? { code: 1, stderr: "Error response from daemon: removal in progress\n" }
          : {},
    );
    const stack = new FakeStack("prod", {});
    const plan = recoveryPlan(findPendingOperations(stateFixture("state-interrupted-traefik.json")));
    const selector = { system: "ems_system", environment: "production" };
    await expect(
      clearInterrupted(stack, plan, { shell: boundShell("local", host), selector }, () => undefined),
    ).rejects.toThrow("cannot remove the orphan container infra_traefik on local: Error response from daemon");
    expect(stack.calls).toEqual([]);
  });
});

describe("the host command lines", () => {
  test("exact strings: the name is an anchored regex (dots escaped), the engine at docker.host with -H", () => {
    expect(ORPHAN_COMMANDS.find("ems_system-postgres")).toBe(
      "docker ps -aq --no-trunc --filter 'name=^/ems_system-postgres$' | xargs -r docker inspect --format '{{.Id}} {{json .Config.Labels}}'",
    );
    expect(ORPHAN_COMMANDS.find("a.b", "ssh://root@vps")).toBe(
      "docker -H ssh://root@vps ps -aq --no-trunc --filter 'name=^/a\\.b$' | xargs -r docker -H ssh://root@vps inspect --format '{{.Id}} {{json .Config.Labels}}'",
    );
    expect(ORPHAN_COMMANDS.remove("abc", 60)).toBe("docker stop -t 60 abc >/dev/null && docker rm abc");
  });

  test("judging: a missing or unreadable label is not ours", () => {
    const pending = findPendingOperations(stateFixture("state-interrupted-api.json"))[0];
    const scope = { system: "ems_system", environment: "production" };
    expect(judgeOrphan("", pending, scope)).toEqual({ found: false });
    expect(judgeOrphan("abc null", pending, scope)).toMatchObject({ found: true, ours: false });
    expect(judgeOrphan(`abc ${JSON.stringify({ ...SYSTEM, "com.ems.service": "sms" })}`, pending, scope)).toEqual({
      found: true,
      id: "abc",
      ours: false,
      why: "com.ems.service=sms, not ems",
    });
  });
});

describeWithDocker("the recovery on the real dockerd", () => {
  const scratch = new DockerScratch("orphan");
  beforeAll(() => buildTestImages(), 180_000);
  afterAll(() => scratch.cleanup());

  test("finds the orphan by its exact name, removes it, and leaves a look-alike of another system", async () => {
    const orphan = scratch.track(scratch.rename("ems"));
    const lookalike = scratch.track(scratch.rename("ems-x"));
    const label = (system: string) => [
      "--label",
      `com.ems.system=${system}`,
      "--label",
      "com.ems.environment=production",
    ];
    docker(["create", "--name", orphan, ...label("ems_system"), "--label", "com.ems.service=ems", IMAGES.ems]);
    docker(["create", "--name", lookalike, ...label("ems_lab"), "--label", "com.ems.service=ems", IMAGES.ems]);
    const pending = { ...findPendingOperations(stateFixture("state-interrupted-api.json"))[0], containerName: orphan };
    const scope = { system: "ems_system", environment: "production" };
    const plan = {
      steps: [{ kind: "remove-orphan" as const, pending: { ...pending, graceSeconds: 1 } }],
      clearPendingCreates: true,
    };

    const found = await boundShell("local").run(ORPHAN_COMMANDS.find(orphan));
    expect(judgeOrphan(found.stdout, pending, scope)).toMatchObject({ found: true, ours: true });
    expect(await removeOrphans(plan, boundShell("local"), scope)).toEqual([
      expect.stringMatching(new RegExp(`^ems: removed the orphan container ${orphan} \\([0-9a-f]{12}\\)$`)),
    ]);
    expect(docker(["ps", "-aq", "--filter", `name=^/${orphan}$`]).trim()).toBe("");
    expect(docker(["ps", "-aq", "--filter", `name=^/${lookalike}$`]).trim()).not.toBe("");

    const foreign = { ...plan, steps: [{ ...plan.steps[0], pending: { ...pending, containerName: lookalike } }] };
    await expect(removeOrphans(foreign, boundShell("local"), scope)).rejects.toThrow("is not this system's");
    expect(docker(["ps", "-aq", "--filter", `name=^/${lookalike}$`]).trim()).not.toBe("");
  }, 60_000);
});

/**
 * `npm run switch-platform`'s orchestration (ops/platformSwitch/run.ts) on the real dockerd, with its real host
 * commands: a one-engine system in stand-ins (PostgreSQL 15 on a data volume holding rows, Traefik, two APIs that
 * ignore SIGTERM, Portainer, each with `com.ems.system` and a restart policy), and a Swarm stand-in for what the up
 * creates: a PostgreSQL "task" container on the same data volume (the shared engine is never put in swarm mode). The
 * up stand-in fails the test's run when a second server would start on the volume the old one still holds.
 *
 * Kills are as in test/migrate: a run that stops dead as a step starts (no handler, nothing cleans up); the next run
 * finds the journal and resumes, or undoes with --undo. The state is the stack's export, kept in memory.
 */
import * as fs from "fs";
import * as path from "path";
import type { Deployment } from "@pulumi/pulumi/automation";
import { PLATFORM_SWITCH_COMMANDS as S } from "../../ops/hostCommands/platformSwitch";
import { boundShell } from "../../ops/runner/hostShell";
import { sessionsCommand } from "../../ops/healthGate";
import { runSwitch, SwitchDeps, SwitchOptions, SwitchResult } from "../../ops/platformSwitch/run";
import type { SwitchStep } from "../../ops/platformSwitch/journal";
import { buildTestImages, describeWithDocker, docker, DockerScratch, IMAGES, inspect, psqlIn, run } from "../support";

jest.setTimeout(240_000);

const SYSTEM = "ems_system";
const DATA = "/var/lib/postgresql/data";
const CONTAINER = "docker:index/container:Container";

/** A one-engine prod state as `pulumi stack export` gives it: credentials, the protected volume, networks, containers. */
function oneEngineState(names: Record<string, string>, volume: string): Deployment {
  const urn = (type: string, name: string) => `urn:pulumi:prod::ems-infra::${type}::${name}`;
  const pgUrn = urn(`ems:infra:Postgres$${CONTAINER}`, "postgres");
  return {
    version: 3,
    deployment: {
      manifest: { time: "2026-12-01T00:00:00Z", magic: "", version: "v3.248.0" },
      resources: [
        { urn: urn("pulumi:pulumi:Stack", "ems-infra-prod"), type: "pulumi:pulumi:Stack", custom: false },
        {
          urn: urn("random:index/randomPassword:RandomPassword", "ems-db"),
          type: "random:index/randomPassword:RandomPassword",
          custom: true,
          id: "none",
        },
        {
          urn: urn("docker:index/volume:Volume", "postgres-data"),
          type: "docker:index/volume:Volume",
          custom: true,
          id: volume,
          protect: true,
        },
        {
          urn: urn("docker:index/network:Network", "internal"),
          type: "docker:index/network:Network",
          custom: true,
          id: "net1",
        },
        {
          urn: pgUrn,
          type: CONTAINER,
          custom: true,
          id: names.postgres,
          dependencies: [urn("docker:index/volume:Volume", "postgres-data")],
        },
        {
          urn: urn(`ems:infra:ApiService$${CONTAINER}`, "ems"),
          type: CONTAINER,
          custom: true,
          id: names.ems,
          dependencies: [pgUrn],
        },
        {
          urn: urn("ems:infra:Postgres$command:local:Command", "postgres-databases"),
          type: "command:local:Command",
          custom: true,
          id: "cmd",
          dependencies: [pgUrn],
          propertyDependencies: { triggers: [pgUrn] },
        },
      ],
    },
  } as unknown as Deployment;
}

describeWithDocker("switch-platform on the real dockerd: kill at each step, resume, undo, finish", () => {
  const scratch = new DockerScratch("psw");
  const names: Record<string, string> = {};
  let volume = "";
  let task = "";
  let dir = "";
  let state: Deployment;
  let original: Deployment;
  let allowed = false;
  const journal = () => path.join(dir, "secrets", "platform-switch-journal.json");

  const standIn = (role: string, ignoresTerm: boolean) => {
    const name = scratch.track(scratch.rename(role));
    const trap = ignoresTerm ? "trap '' TERM" : "trap 'exit 0' TERM";
    docker([
      "run",
      "-d",
      "--name",
      name,
      "--restart",
      "unless-stopped",
      "--label",
      `com.ems.system=${SYSTEM}`,
      "--entrypoint",
      "sh",
      IMAGES.postgres,
      "-c",
      `${trap}; while :; do sleep 1; done`,
    ]);
    return name;
  };
  const startOldPostgres = () => {
    names.postgres = scratch.track(scratch.rename("postgres"));
    docker([
      "run",
      "-d",
      "--name",
      names.postgres,
      "--restart",
      "always",
      "--label",
      `com.ems.system=${SYSTEM}`,
      "-e",
      "POSTGRES_PASSWORD=old-bootstrap",
      "-v",
      `${volume}:${DATA}`,
      IMAGES.postgres,
      "postgres",
    ]);
  };
  const ready = (c: string) => run("docker", ["exec", c, "pg_isready", "-q", "-U", "postgres"]).status === 0;
  const waitReady = async (c: string) => {
    for (let i = 0; i < 120 && !ready(c); i++) await new Promise((r) => setTimeout(r, 500));
    if (!ready(c))
      throw new Error(`${c} never accepted connections: ${run("docker", ["logs", "--tail", "20", c]).stderr}`);
  };
  const running = (c: string) => inspect(c).State.Running as boolean;
  const exists = (c: string) => run("docker", ["inspect", c]).status === 0;
  const oldNames = () => [names.traefik, names.ems, names.sms, names.portainer, names.postgres];

  beforeAll(async () => {
    buildTestImages();
    dir = scratch.dir("switch");
    volume = scratch.volume({ name: "ems_system_pgdata_17" });
    startOldPostgres();
    await waitReady(names.postgres);
    psqlIn(names.postgres, "CREATE TABLE schools (name text); INSERT INTO schools VALUES ('Escola A'), ('Escola B');");
    names.traefik = standIn("traefik", false);
    names.ems = standIn("ems-server", true);
    names.sms = standIn("sms-server", true);
    names.portainer = standIn("portainer", false);
    task = scratch.rename("postgres-swarm-task");
    scratch.track(task);
    original = oneEngineState(names, volume);
    state = original;
  });
  afterAll(() => scratch.cleanup());

  const options = (overrides: Partial<SwitchOptions> = {}): SwitchOptions => ({
    stackName: "prod",
    system: SYSTEM,
    deployedPlatform: "docker",
    volume,
    postgresUser: "postgres",
    containers: {
      traefik: names.traefik,
      postgres: names.postgres,
      portainer: names.portainer,
      apis: [names.ems, names.sms],
    },
    journalDir: path.join(dir, "secrets"),
    backupDir: path.join(dir, "platform-switch"),
    dryRun: false,
    undo: false,
    stopSeconds: 10,
    ...overrides,
  });

  interface Attempt {
    killAt?: SwitchStep;
    signalAt?: SwitchStep;
    upFails?: boolean;
    engines?: { postgres: string; traefik: string };
  }
  const upSawSecondServer: string[] = [];

  async function attempt(
    a: Attempt,
    overrides: Partial<SwitchOptions> = {},
  ): Promise<{ result?: SwitchResult; log: string[] }> {
    const log: string[] = [];
    let signal: string | undefined;
    let dead = false;
    const place = run("sh", ["-c", S.placeIdentity(volume)]).stdout.trim();
    const deps: SwitchDeps = {
      shell: boundShell("local"),
      pinnedPlaces: async () => a.engines ?? { postgres: place, traefik: place },
      async removeNewPlatform() {
        if (!exists(task)) return [];
        docker(["rm", "-f", task]);
        return ["ems_system-postgres"];
      },
      exportState: async () => state,
      importState: async (s) => void (state = JSON.parse(JSON.stringify(s)) as Deployment),
      allowSwitch: async (on) => void (allowed = on),
      async up() {
        // What Pulumi's create-before-delete would do: the Swarm task starts on the volume, whoever holds it.
        const holders = docker(["ps", "--filter", `volume=${volume}`, "--format", "{{.Names}}"])
          .split("\n")
          .filter((n) => n && n !== task);
        if (holders.length) upSawSecondServer.push(...holders);
        if (!allowed) return { ok: false, message: "the program refused: ems-infra:platformSwitch is not set" };
        if (!exists(task))
          docker([
            "run",
            "-d",
            "--name",
            task,
            "--label",
            `com.ems.system=${SYSTEM}`,
            // What Swarm labels a task's container with: the gate finds the Postgres task by it.
            "--label",
            "com.docker.swarm.service.name=ems_system-postgres",
            "-e",
            "POSTGRES_PASSWORD=x",
            "-v",
            `${volume}:${DATA}`,
            IMAGES.postgres,
            "postgres",
          ]);
        await waitReady(task);
        return a.upFails
          ? { ok: false, message: "ems_system-ems: task failed its health check" }
          : { ok: true, message: "9 created" };
      },
      async gate() {
        const rows = psqlIn(task, "SELECT count(*) FROM schools;").trim();
        // The real gate's sessions query, as it reaches the Postgres task (by its service label, not its name): here
        // it sees its own superuser session (the stand-in runs no API to log in).
        const sessions = await boundShell("local").run(
          sessionsCommand({ swarmService: "ems_system-postgres", superuser: "postgres" }),
        );
        if (!sessions.stdout.split("\n").includes("postgres postgres"))
          return { ok: false, message: `sessions in the task: ${sessions.stdout}${sessions.stderr}` };
        return rows === "2" ? { ok: true, message: "ems_system-postgres 1/1" } : { ok: false, message: `rows ${rows}` };
      },
      confirm: async () => true,
      log: (line) => log.push(line),
      now: () => Date.now(),
      interrupted: () => signal,
      checkpoint: (step) => {
        if (step === a.signalAt) signal = "SIGHUP";
        if (step !== a.killAt) return Promise.resolve();
        dead = true;
        return new Promise<void>(() => undefined);
      },
    };
    const pending = runSwitch(deps, options(overrides));
    if (!a.killAt) return { result: await pending, log };
    const deadline = Date.now() + 120_000;
    for (;;) {
      const settled = await Promise.race([pending, new Promise((r) => setTimeout(() => r(undefined), 200))]);
      if (settled) return { result: settled as SwitchResult, log };
      // Dead at the step: the journal names it and nothing of the run goes on.
      if (dead) return { log };
      if (Date.now() > deadline) throw new Error(`the switch never reached step ${a.killAt}:\n${log.join("\n")}`);
    }
  }

  test("refused before anything changes: the pinned Postgres node is another engine, or a foreign container holds the volume", async () => {
    // Another machine's engine as it answers (the same engine ID and host name as here, as the private engine on this
    // machine shows in swarm-commands.test.ts, but no such volume on its disk).
    const here = run("sh", ["-c", S.placeIdentity(volume)]).stdout.trim();
    const elsewhere = run("sh", ["-c", S.placeIdentity(`${volume}-elsewhere`)]).stdout.trim();
    expect(elsewhere).toMatch(/ absent$/);
    const other = await attempt({ engines: { postgres: elsewhere, traefik: here } });
    expect(other.result).toMatchObject({ outcome: "refused" });
    expect(other.log.join("\n")).toContain(
      `the node ems-infra:swarm.pins.postgres selects is "${elsewhere}" (engine, host, ${volume} created), not this stack's "${here}"`,
    );
    expect(other.log.join("\n")).not.toContain("swarm.pins.traefik");
    const foreign = scratch.track(scratch.rename("foreign"));
    docker(["create", "--name", foreign, "-v", `${volume}:/x`, IMAGES.postgres]);
    const refused = await attempt({});
    expect(refused.result).toMatchObject({ outcome: "refused" });
    expect(refused.log.join("\n")).toContain(`${foreign} mounts the data volume ${volume} and is not this stack's`);
    docker(["rm", foreign]);
    expect(oldNames().every(running)).toBe(true);
    expect(fs.existsSync(journal())).toBe(false);
    expect(state).toBe(original);
  });

  test("killed at backup, stop, state and up in turn, each next run resumes; then --undo brings the one-engine system back", async () => {
    for (const step of ["backup", "stop", "state", "up"] as const) {
      const r = await attempt({ killAt: step });
      expect(r.result).toBeUndefined();
      expect(JSON.parse(fs.readFileSync(journal(), "utf8")).step).toBe(step);
    }
    // Killed at up: the old containers are stopped (policy no), the state no longer holds them, the switch is allowed.
    expect(oldNames().some(running)).toBe(false);
    expect(inspect(names.postgres).HostConfig.RestartPolicy.Name).toBe("no");
    expect(JSON.stringify(state)).not.toContain(CONTAINER);
    expect(allowed).toBe(true);
    const dumps = fs.readdirSync(path.join(dir, "platform-switch"));
    expect(dumps).toEqual([expect.stringMatching(/^cluster_\d{8}T\d{6}Z\.sql\.gz$/)]);
    expect(fs.statSync(journal()).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, "secrets", "platform-switch-state.json")).mode & 0o777).toBe(0o600);

    const undone = await attempt({}, { undo: true });
    expect(undone.result).toMatchObject({ outcome: "rolled-back" });
    expect(oldNames().every(running)).toBe(true);
    expect(inspect(names.postgres).HostConfig.RestartPolicy.Name).toBe("always");
    expect(inspect(names.ems).HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(psqlIn(names.postgres, "SELECT string_agg(name, ',' ORDER BY name) FROM schools;").trim()).toBe(
      "Escola A,Escola B",
    );
    expect(state).toEqual(original);
    expect(allowed).toBe(false);
    expect(fs.existsSync(journal())).toBe(false);
    expect(upSawSecondServer).toEqual([]);
  });

  test("the up fails: undone by itself, the Swarm task removed before the old Postgres starts on the volume", async () => {
    const r = await attempt({ upFails: true });
    expect(r.result).toMatchObject({
      outcome: "rolled-back",
      reason: "pulumi up failed: ems_system-ems: task failed its health check",
    });
    expect(exists(task)).toBe(false);
    expect(oldNames().every(running)).toBe(true);
    expect(state).toEqual(original);
    expect(r.log).toContain(`removed the Swarm services ems_system-postgres`);
    expect(upSawSecondServer).toEqual([]);
  });

  test("a SIGHUP as the gate starts undoes; a run killed at the gate is resumed to the end on the next run", async () => {
    const hup = await attempt({ signalAt: "gate" });
    expect(hup.result).toMatchObject({ outcome: "rolled-back", reason: 'interrupted (SIGHUP) before step "gate"' });
    expect(oldNames().every(running)).toBe(true);

    const killed = await attempt({ killAt: "gate" });
    expect(killed.result).toBeUndefined();
    expect(running(task)).toBe(true);
    const done = await attempt({});
    expect(done.result).toMatchObject({ outcome: "switched" });
    expect(done.log[0]).toMatch(/stopped at step "gate"/);
    // The old containers are gone (nothing can start a second server on the volume), the Swarm task holds the rows.
    expect(oldNames().some(exists)).toBe(false);
    expect(psqlIn(task, "SELECT count(*) FROM schools;").trim()).toBe("2");
    expect(allowed).toBe(false);
    expect(fs.existsSync(journal())).toBe(false);
    expect(fs.existsSync(path.join(dir, "secrets", "platform-switch-state.json"))).toBe(false);
    expect(upSawSecondServer).toEqual([]);
  });

  test("the helper commands: waitVolumeFree fails naming a container still on the volume", async () => {
    const shell = boundShell("local");
    const r = await shell.run(S.waitVolumeFree(volume, "nobody", 2));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`still running on ${volume}: ${task}`);
    expect((await shell.run(S.waitVolumeFree(volume, task, 2))).code).toBe(0);
  });
});

/**
 * The switch's Swarm-side host commands (ops/hostCommands/platformSwitch.ts) on a REAL engine in swarm mode: a
 * private dockerd in its own network namespace, data-root and socket (testkit/swarm/engine.ts), never the machine's
 * engine. The services run an idle image imported there from the static busybox.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { PLATFORM_SWITCH_COMMANDS as S } from "../../ops/hostCommands/platformSwitch";
import { PrivateEngine, privateEngineUnavailable } from "../support";

jest.setTimeout(120_000);

const reason = privateEngineUnavailable();
if (reason && process.env.CI === "true") throw new Error(`the swarm tests need a private dockerd: ${reason}`);
const describeSwarm = reason ? describe.skip : describe;

const IDLE = "ems-test/switch-idle:1";

describeSwarm("switch-platform's Swarm commands on a private engine in swarm mode", () => {
  const engine = new PrivateEngine("switch-test");
  /** A command string as the switch runs it, with `docker` pointed at the private engine. */
  const sh = (command: string) => {
    const r = spawnSync("sh", ["-c", command], { env: engine.env, encoding: "utf8", timeout: 120_000 });
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  };
  const service = (name: string, system: string, replicas: number) =>
    engine.docker(
      [
        "service",
        "create",
        "-d",
        "--name",
        name,
        "--label",
        `com.ems.system=${system}`,
        "--replicas",
        String(replicas),
        IDLE,
      ],
      undefined,
      60_000,
    );

  beforeAll(async () => {
    await engine.start();
    engine.docker(["swarm", "init", "--advertise-addr", engine.address]);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-switch-idle-"));
    fs.mkdirSync(path.join(root, "bin"));
    fs.copyFileSync("/bin/busybox", path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    const tar = spawnSync("tar", ["-C", root, "-cf", "-", "."], { maxBuffer: 64 << 20 });
    fs.rmSync(root, { recursive: true, force: true });
    engine.docker(["import", "--change", 'ENTRYPOINT ["/bin/busybox", "sleep", "3600"]', "-", IDLE], tar.stdout);
    service("ems_system-ems", "ems_system", 2);
    service("ems_system-ems-old", "ems_system", 1);
    service("other_system-ems", "other_system", 1);
  }, 120_000);
  afterAll(() => engine.stop(), 120_000);

  test("replicas: running and desired of exactly the named service (not one whose name it prefixes)", async () => {
    let line = "";
    for (let i = 0; i < 60 && line !== "2 2"; i++) {
      line = sh(S.replicas("ems_system-ems")).stdout.trim();
      if (line !== "2 2") await new Promise((r) => setTimeout(r, 1000));
    }
    expect(line).toBe("2 2");
    expect(sh(S.replicas("ems_system-none")).stdout.trim()).toBe("");
  });

  test("removeServices removes every service of the system and no other system's", () => {
    const r = sh(S.removeServices("ems_system", 30));
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean).sort()).toEqual(["ems_system-ems", "ems_system-ems-old"]);
    expect(engine.docker(["service", "ls", "--format", "{{.Name}}"]).trim()).toBe("other_system-ems");
    expect(sh(S.removeServices("ems_system", 5))).toMatchObject({ code: 0, stdout: "" });
  });

  test("the engine ID is the same for two engines of one machine (key.json); the data volume's creation tells them apart", () => {
    const volume = `ems_switch_probe_${engine.id}`;
    spawnSync("docker", ["volume", "create", volume]);
    try {
      const here = spawnSync("sh", ["-c", S.placeIdentity(volume)], { encoding: "utf8" }).stdout.trim();
      const there = sh(S.placeIdentity(volume)).stdout.trim();
      const [hereId, hereName] = here.split(" ");
      expect(there.startsWith(`${hereId} ${hereName} `)).toBe(true);
      expect(here).toMatch(/ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(there).toBe(`${hereId} ${hereName} absent`);
    } finally {
      spawnSync("docker", ["volume", "rm", volume]);
    }
  });

  test("a host-mode port 80 service beside a container holding port 80 never starts; it does once the container stops", async () => {
    const old = "old-traefik";
    engine.docker(["run", "-d", "--name", old, "-p", "80:80", IDLE]);
    engine.docker(
      [
        "service",
        "create",
        "-d",
        "--name",
        "ems_port-traefik",
        "--label",
        "com.ems.system=ems_port",
        "--publish",
        "mode=host,target=80,published=80",
        IDLE,
      ],
      undefined,
      60_000,
    );
    const errors = () => engine.docker(["service", "ps", "--no-trunc", "--format", "{{.Error}}", "ems_port-traefik"]);
    let seen = "";
    for (let i = 0; i < 60 && !/already (in use|allocated)/.test(seen); i++) {
      seen = errors();
      if (!/already (in use|allocated)/.test(seen)) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(seen).toMatch(/address already in use|port is already allocated/);
    expect(sh(S.replicas("ems_port-traefik")).stdout.trim()).toBe("0 1");

    engine.docker(["rm", "-f", old]);
    let line = "";
    for (let i = 0; i < 60 && line !== "1 1"; i++) {
      line = sh(S.replicas("ems_port-traefik")).stdout.trim();
      if (line !== "1 1") await new Promise((r) => setTimeout(r, 1000));
    }
    expect(line).toBe("1 1");
  });
});

/**
 * The pre-flight of every changing command asks the engine its API version and swap accounting (provider-facts §9),
 * writes them as `ems-infra:engine.*` for the containers to adapt, says each adaptation and what it replaces, and
 * refuses an engine older than the program supports. Driven through deploy/rollback/rotate's shared release flow
 * with fake engine answers, and the command lines through the real `docker` CLI against a fake Engine API.
 */
import { deploy as deployCommand } from "../../ops/commands/deploy";
import { ENGINE_COMMANDS, parseSwapLimit, planEngine, readEngine } from "../../ops/engineFacts";
import { boundShell } from "../../ops/runner/hostShell";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, startFakeEngine } from "../support";

const deploy = deployCommand.main;

/** The host's engine answers: `docker version` (API, version, arch) and `docker info`'s SwapLimit. */
function engineHost(version: string, swapLimit: string): FakeHost {
  return new FakeHost((command) => {
    if (/^docker (-H \S+ )?version --format/.test(command)) return { stdout: `${version}\n` };
    if (/^docker (-H \S+ )?info --format/.test(command)) return { stdout: `${swapLimit}\n` };
    return {};
  });
}

/** A prod stack deployed before this pre-flight existed: no engine facts in its config. */
const { ["ems-infra:engine"]: _, ...NO_FACTS } = PROD_CONFIG;
const DOCKER_20 = "1.41 20.10.24 amd64";
const DOCKER_25 = "1.44 25.0.3 amd64";
const DEPLOY = ["--stack", "prod", "--service", "ems", "--version", "1.5.0", "--yes"];

describe("the release pre-flight reads the engine and the program adapts to it", () => {
  it("API 1.41 (Docker 20.10): startInterval dropped, said before the preview, written as config", async () => {
    const stack = new FakeStack("prod", { config: NO_FACTS, previewChanges: { replace: 2, same: 14 } });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host: engineHost(DOCKER_20, "true") }))).toBe(0);
    expect(stack.changes).toEqual([
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
      "setConfig ems-infra:engine.apiVersion=1.41 --path",
      "setConfig ems-infra:engine.swapLimit=true --path",
      "preview",
      "up deploy ems 1.5.0",
    ]);
    expect(io.stdout).toContain("pre-flight: Docker Engine 20.10.24 (API 1.41) keeps swap limits\n");
    expect(io.stdout).toContain(
      "pre-flight: Docker Engine 20.10.24 (API 1.41) is older than API 1.44: the API containers are registered " +
        "without healthcheck.startInterval (the provider refuses it there)",
    );
    expect(io.stdout).toContain("the API containers' healthcheck loses startInterval");
    expect(io.stdout.indexOf("startInterval")).toBeLessThan(io.stdout.indexOf("Previewing"));
    expect(JSON.parse(stack.config["ems-infra:engine"])).toEqual({ apiVersion: "1.41", swapLimit: "true" });
  });

  it("API 1.44 (Docker 25) without swap accounting: memorySwap -1, and why", async () => {
    const stack = new FakeStack("prod", { config: NO_FACTS, previewChanges: { update: 1 } });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host: engineHost(DOCKER_25, "false") }))).toBe(0);
    expect(stack.changes).toContain("setConfig ems-infra:engine.swapLimit=false --path");
    expect(io.stdout).toContain("pre-flight: Docker Engine 25.0.3 (API 1.44) keeps no swap limit\n");
    expect(io.stdout).toContain("registered with memorySwap -1, so an up no longer replaces the API containers for it");
    expect(io.stdout).not.toContain("startInterval");
  });

  it("the facts the stack already holds are not written again, and nothing is said to be replaced", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, previewChanges: { update: 1 } });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack))).toBe(0);
    expect(stack.changes.filter((c) => c.includes("engine"))).toEqual([]);
    expect(io.stdout).not.toContain("replaces each");
  });

  it("an engine that gains API 1.44 replaces the API containers once, and says so", () => {
    const plan = planEngine(
      { apiVersion: "1.47", version: "27.5.1", arch: "amd64", swapLimit: true },
      { apiVersion: "1.41", swapLimit: true },
    );
    expect(plan.edits).toEqual([{ key: "ems-infra:engine.apiVersion", value: "1.47", path: true }]);
    expect(plan.notes).toEqual([
      "the API containers' healthcheck gains startInterval: this deploy replaces each deployed API container once " +
        "(health-gated: the old one serves until the new one is healthy)",
    ]);
  });

  it("swap accounting turned on puts memorySwap back to the limit: API containers replaced, the rest updated", () => {
    const plan = planEngine(
      { apiVersion: "1.52", version: "29.1.3", swapLimit: true },
      { apiVersion: "1.52", swapLimit: false },
    );
    expect(plan.edits).toEqual([{ key: "ems-infra:engine.swapLimit", value: "true", path: true }]);
    expect(plan.notes.join("\n")).toContain(
      "replaces each deployed API container once and updates Traefik, Postgres and Portainer in place",
    );
  });

  it("refuses an engine older than API 1.41, naming the minimum, before any preview; the config stays", async () => {
    const stack = new FakeStack("prod", { config: NO_FACTS });
    const io = fakeIo();
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host: engineHost("1.40 19.03.15 amd64", "true") }))).toBe(1);
    expect(io.stderr).toBe(
      "error: pre-flight: Docker Engine 19.03.15 speaks API 1.40; the program needs API 1.41 (Docker 20.10) or " +
        "later: upgrade Docker on the host; ems-infra:services.ems.version is back to 1.4.2\n",
    );
    expect(stack.changes).toEqual([
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
      "setConfig ems-infra:services.ems.version=1.4.2 --path",
    ]);
  });

  it("a swap answer it cannot read is a refusal, not a guess", async () => {
    const stack = new FakeStack("prod", { config: NO_FACTS });
    const io = fakeIo();
    const host = new FakeHost((c) => (c.startsWith("docker info") ? { code: 1, stderr: "permission denied\n" } : {}));
    expect(await deploy(DEPLOY, io, fakeDeps(stack, { host }))).toBe(1);
    expect(io.stderr).toContain(
      "error: pre-flight: cannot read the Docker engine swap accounting on local (exit 1): permission denied",
    );
    expect(stack.calls).not.toContain("preview");
    expect(() => parseSwapLimit("WARNING: No swap limit support\nfalse")).toThrow("cannot read");
  });

  it("a no at the prompt puts the engine facts back with the rest of the config", async () => {
    const stack = new FakeStack("prod", { config: NO_FACTS, previewChanges: { update: 1 } });
    const io = fakeIo({ tty: true, answers: ["n"] });
    const args = ["--stack", "prod", "--service", "ems", "--version", "1.5.0"];
    expect(await deploy(args, io, fakeDeps(stack, { host: engineHost(DOCKER_20, "false") }))).toBe(1);
    // `pulumi config rm --path` of the last key leaves the object empty: no fact is kept.
    const { ["ems-infra:engine"]: facts, ...rest } = stack.config;
    expect(rest).toEqual(NO_FACTS);
    expect(JSON.parse(facts ?? "{}")).toEqual({});
  });

  it("asks the engine at ems-infra:docker.host from this machine, with -H", async () => {
    const host = engineHost(DOCKER_25, "true");
    const config = { ...PROD_CONFIG, "ems-infra:docker": JSON.stringify({ host: "ssh://deploy@vps.example" }) };
    const stack = new FakeStack("prod", { config, previewChanges: { update: 1 } });
    expect(await deploy(DEPLOY, fakeIo(), fakeDeps(stack, { host }))).toBe(0);
    expect(
      host.commands.filter((c) => / (version|info) --format/.test(c.command)).map((c) => [c.commandHost, c.command]),
    ).toEqual([
      [
        "local",
        "docker -H ssh://deploy@vps.example version --format '{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}'",
      ],
      ["local", "docker -H ssh://deploy@vps.example info --format '{{json .SwapLimit}}'"],
    ]);
  });
});

describe("the command lines, run by the real docker CLI", () => {
  test("exact strings", () => {
    expect(ENGINE_COMMANDS.swapLimit()).toBe("docker info --format '{{json .SwapLimit}}'");
    expect(ENGINE_COMMANDS.swapLimit("tcp://10.0.0.5:2376")).toBe(
      "docker -H tcp://10.0.0.5:2376 info --format '{{json .SwapLimit}}'",
    );
    expect(ENGINE_COMMANDS.swapLimit("ssh://root@vps;rm -rf /")).toBe(
      "docker -H 'ssh://root@vps;rm -rf /' info --format '{{json .SwapLimit}}'",
    );
  });

  test.each([
    { apiVersion: "1.41", version: "20.10.24", swapLimit: false },
    { apiVersion: "1.45", version: "26.1.4", swapLimit: true },
  ])("a fake engine at API $apiVersion, swap limits $swapLimit", async (answers) => {
    const engine = await startFakeEngine(answers);
    try {
      expect(await readEngine(boundShell("local"), engine.endpoint)).toEqual({ ...answers, arch: "amd64" });
      expect(engine.requests.filter((r) => !r.endsWith("/_ping"))).toEqual([
        expect.stringMatching(/^GET \/v1\.\d+\/version$/),
        expect.stringMatching(/^GET \/v1\.\d+\/info$/),
      ]);
    } finally {
      await engine.close();
    }
  });

  test("this machine's real engine answers both questions (read only)", async () => {
    const engine = await readEngine(boundShell("local"));
    expect(engine.apiVersion).toMatch(/^1\.\d+$/);
    expect(typeof engine.swapLimit).toBe("boolean");
  });
});

/**
 * What the program registers for the engine facts the release pre-flight writes (`ems-infra:engine`): below Engine
 * API 1.44 no API container has a healthcheck start interval (the provider's client refuses the create there), and
 * without swap accounting every container's memorySwap is -1 (what such an engine reads back, so no perma-diff and
 * no replacement of the API containers on every up). Nothing else changes. Bad facts are refused by key.
 */
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { committedConfig, RecordedResource, StackRun, T, TEST_SECRETS } from "../support";
import { runCommitted } from "../providers/stacks";

const OLD_ENGINE = JSON.stringify({ apiVersion: "1.41", swapLimit: false });
const CURRENT = JSON.stringify({ apiVersion: "1.44", swapLimit: true });

const runs: Record<string, StackRun> = {};
beforeAll(async () => {
  runs.unset = await runCommitted("prod");
  runs.old = await runCommitted("prod", { "ems-infra:engine": OLD_ENGINE });
  runs.current = await runCommitted("prod", { "ems-infra:engine": CURRENT });
}, 90_000);

const apiNames = (run: StackRun) => run.config.services.map((s) => s.name);
const containers = (run: StackRun) => run.ofType(T.container);
/** A container's inputs without the two the engine decides. */
function rest(c: RecordedResource): Record<string, unknown> {
  const { memorySwap: _swap, healthcheck, ...inputs } = c.inputs as Record<string, unknown>;
  const { startInterval: _start, ...hc } = (healthcheck ?? {}) as Record<string, unknown>;
  return { ...inputs, healthcheck: hc };
}

describe("the containers follow the engine facts", () => {
  test("API 1.41: the API containers' healthcheck has no startInterval; Traefik's and Postgres' never had one", () => {
    for (const name of apiNames(runs.old)) {
      const hc = runs.old.get(T.container, name).inputs.healthcheck;
      expect({ name, startInterval: hc.startInterval, interval: hc.interval }).toEqual({
        name,
        startInterval: undefined,
        interval: "1m0s",
      });
    }
    for (const c of containers(runs.old)) expect(c.inputs.healthcheck?.startInterval).toBeUndefined();
  });

  test("API 1.44 and unset facts: the API containers probe every 2 s while starting", () => {
    for (const run of [runs.current, runs.unset])
      for (const name of apiNames(run)) expect(run.get(T.container, name).inputs.healthcheck.startInterval).toBe("2s");
  });

  test("no swap accounting: every container's memorySwap is -1; with it, the memory limit", () => {
    const swaps = (run: StackRun) => containers(run).map((c) => [c.name, c.inputs.memory, c.inputs.memorySwap]);
    expect(swaps(runs.old).map(([n, , s]) => [n, s])).toEqual(containers(runs.old).map((c) => [c.name, -1]));
    expect(swaps(runs.current)).toEqual(
      containers(runs.current).map((c) => [c.name, c.inputs.memory, c.inputs.memory]),
    );
    expect(containers(runs.old).length).toBeGreaterThanOrEqual(4);
  });

  test("nothing else differs between an old engine's containers and a current one's", () => {
    const byName = (run: StackRun) => Object.fromEntries(containers(run).map((c) => [c.name, rest(c)]));
    expect(byName(runs.old)).toEqual(byName(runs.current));
    expect(byName(runs.unset)).toEqual(byName(runs.current));
  });

  test("the API containers' options do not ignore what the engine decides (an engine change replaces once)", () => {
    for (const name of apiNames(runs.old)) {
      const opts = runs.old.get(T.container, name).opts as { ignoreChanges?: string[]; replaceOnChanges?: string[] };
      expect(opts.ignoreChanges ?? []).not.toContain("memorySwap");
      expect(opts.ignoreChanges ?? []).not.toContain("healthcheck.startInterval");
      expect(opts.replaceOnChanges).toEqual(["*"]);
    }
  });
});

describe("ems-infra:engine is validated", () => {
  function problems(engine: string): string[] {
    const config = { ...committedConfig("prod"), ...TEST_SECRETS, "ems-infra:engine": engine };
    try {
      parseStackConfig("prod", config, new Set(Object.keys(TEST_SECRETS)), "/home/dev", "/work/repo");
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems;
    }
  }

  test("as pulumi config set --path stores it, or as text", () => {
    expect(problems(OLD_ENGINE)).toEqual([]);
    expect(problems(JSON.stringify({ apiVersion: "1.52", swapLimit: "false" }))).toEqual([]);
  });

  test("an API older than 1.41, a version that is not one, an unknown flag: each by its full key", () => {
    expect(problems(JSON.stringify({ apiVersion: "1.40" })).join("\n")).toContain(
      "ems-infra:engine.apiVersion: is older than the oldest Docker Engine API the program supports (1.41, Docker 20.10)",
    );
    expect(problems(JSON.stringify({ apiVersion: "29.1.3" })).join("\n")).toContain("ems-infra:engine.apiVersion");
    expect(problems(JSON.stringify({ apiVersion: "latest", swapLimit: "maybe" })).join("\n")).toMatch(
      /ems-infra:engine\.apiVersion: must be a Docker Engine API version like 1\.44[\s\S]*ems-infra:engine\.swapLimit: must be true or false/,
    );
  });
});

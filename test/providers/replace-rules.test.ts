/**
 * The program's assumptions about how `pulumi up` treats its inputs, checked against the pinned providers'
 * vendored replace rules (testkit/provider-rules/): every input both stacks register is classified there, what
 * the program relies on updating in place is not ForceNew, and every container input the provider only stores
 * (never applies) is either harmless or made to replace by the container's `replaceOnChanges`.
 */
import { effectOf, ignores, loadProviderRules, replacesOn } from "../support";
import { committedConfig, RecordedResource, StackRun, T } from "../support";
import { runCommitted } from "./stacks";

const STACKS = ["dev", "prod"] as const;
const runs: Record<string, StackRun> = {};

beforeAll(async () => {
  for (const stack of STACKS) runs[stack] = await runCommitted(stack);
}, 60_000);

const custom = (run: StackRun) => run.resources.filter((r) => r.custom);
const containers = (run: StackRun) => run.ofType(T.container);
const apiContainers = (run: StackRun) =>
  containers(run).filter((c) => run.config.services.some((s) => s.name === c.name));
const opt = (r: RecordedResource) =>
  r.opts as { replaceOnChanges?: string[]; ignoreChanges?: string[]; deleteBeforeReplace?: boolean };
const setInputs = (r: RecordedResource) => Object.keys(r.inputs).filter((k) => r.inputs[k] !== undefined);

/** Container inputs the provider only stores, whose staleness in a running container hurts nobody. */
const HARMLESS_STATE_ONLY = ["wait", "waitTimeout", "destroyGraceSeconds"];

describe("the vendored tables", () => {
  test("name their source (repository and a tag or commit) and split each type's inputs without overlap", () => {
    const rules = loadProviderRules();
    for (const type of [
      T.container,
      T.image,
      T.volume,
      T.network,
      T.localCommand,
      T.remoteCommand,
      T.randomPassword,
      "random:index/randomString:RandomString",
    ]) {
      const r = rules.get(type);
      expect({ type, known: !!r }).toEqual({ type, known: true });
      for (const s of r!.file.sources) {
        expect(s.repo).toMatch(/^[\w.-]+\/[\w.-]+$/);
        expect(s.tag ?? s.commit ?? "").not.toBe("");
      }
      const all = [...r!.replace, ...r!.live, ...r!.state];
      expect(new Set(all).size).toBe(all.length);
    }
  });

  test("match what provider-facts.md §1 settled for containers (healthcheck state only, memory live, logOpts/uploads replace)", () => {
    expect(effectOf(T.container, "healthcheck.interval")).toBe("state");
    expect(effectOf(T.container, "memory")).toBe("live");
    expect(effectOf(T.container, "memorySwap")).toBe("live");
    expect(effectOf(T.container, "restart")).toBe("live");
    expect(effectOf(T.container, "logOpts")).toBe("replace");
    expect(effectOf(T.container, "uploads")).toBe("replace");
    expect(effectOf(T.container, "destroyGraceSeconds")).toBe("state");
    expect(effectOf(T.container, "stopTimeout")).toBe("replace");
    expect(effectOf(T.localCommand, "stdin")).toBe("live");
    expect(effectOf(T.localCommand, "triggers[0]")).toBe("replace");
    expect(effectOf(T.randomPassword, "length")).toBe("replace");
    expect(effectOf(T.container, "noSuchInput")).toBeUndefined();
  });
});

describe.each(STACKS)("%s stack", (stack) => {
  test("every input of every registered resource is classified by the tables (a new input fails until classified)", () => {
    const unknown = custom(runs[stack]).flatMap((r) =>
      loadProviderRules().has(r.type)
        ? setInputs(r)
            .filter((k) => effectOf(r.type, k) === undefined)
            .map((k) => `${r.type} ${r.name}.${k}`)
        : [`${r.type} (no table)`],
    );
    expect(unknown).toEqual([]);
  });

  test("what the program updates in place is not ForceNew: container memory/restart, command create/stdin", () => {
    const run = runs[stack];
    for (const c of containers(run)) {
      for (const k of ["memory", "memorySwap", "restart"].filter((k) => c.inputs[k] !== undefined))
        expect(`${c.name}.${k}: ${effectOf(T.container, k)}`).toBe(`${c.name}.${k}: live`);
    }
    for (const cmd of [...run.ofType(T.localCommand), ...run.ofType(T.remoteCommand)]) {
      for (const k of ["create", "stdin", "update"].filter((k) => cmd.inputs[k] !== undefined))
        expect(`${cmd.name}.${k}: ${effectOf(cmd.type, k)}`).toBe(`${cmd.name}.${k}: live`);
    }
  });

  test("every state-only container input is harmless or covered by the container's replaceOnChanges (M1: healthcheck)", () => {
    const stale = containers(runs[stack]).flatMap((c) =>
      setInputs(c)
        .filter(
          (k) =>
            effectOf(T.container, k) === "state" &&
            !HARMLESS_STATE_ONLY.includes(k) &&
            !replacesOn(opt(c).replaceOnChanges, k),
        )
        .map((k) => `${c.name}.${k}`),
    );
    expect(stale).toEqual([]);
    for (const c of containers(runs[stack]).filter((c) => c.inputs.healthcheck !== undefined)) {
      expect({ container: c.name, healthcheckReplaces: replacesOn(opt(c).replaceOnChanges, "healthcheck") }).toEqual({
        container: c.name,
        healthcheckReplaces: true,
      });
    }
  });

  test("every container that sets memory also sets memorySwap to it (M2: no read-back perma-diff)", () => {
    const memoryContainers = containers(runs[stack]).filter((c) => c.inputs.memory !== undefined);
    expect(memoryContainers.length).toBeGreaterThanOrEqual(3);
    for (const c of memoryContainers)
      expect({ container: c.name, memorySwap: c.inputs.memorySwap }).toEqual({
        container: c.name,
        memorySwap: c.inputs.memory,
      });
  });

  test("every container with logOpts ignores logOpts changes (M3: a daemon's default log-opts never replace it)", () => {
    const withLogOpts = containers(runs[stack]).filter((c) => c.inputs.logOpts !== undefined);
    expect(withLogOpts.length).toBeGreaterThanOrEqual(3);
    for (const c of withLogOpts)
      expect({ container: c.name, ignoresLogOpts: ignores(opt(c).ignoreChanges, "logOpts") }).toEqual({
        container: c.name,
        ignoresLogOpts: true,
      });
  });

  test("API containers replace on any change, new one first (B3: a failed wait is retried by a replace)", () => {
    const apis = apiContainers(runs[stack]);
    expect(apis.map((c) => c.name).sort()).toEqual(runs[stack].config.services.map((s) => s.name).sort());
    for (const c of apis) {
      expect({
        container: c.name,
        replaceOnChanges: opt(c).replaceOnChanges,
        deleteBeforeReplace: opt(c).deleteBeforeReplace ?? false,
      }).toEqual({
        container: c.name,
        replaceOnChanges: ["*"],
        deleteBeforeReplace: false,
      });
    }
  });

  test("Traefik is stopped with a grace and Postgres has a stopTimeout (m2)", () => {
    const traefik = containers(runs[stack]).find((c) => c.name === "traefik");
    if (runs[stack].config.traefik.manage) expect(traefik?.inputs.destroyGraceSeconds).toBeGreaterThan(0);
    const postgres = runs[stack].get(T.container, "postgres");
    expect(postgres.inputs.stopTimeout).toBeGreaterThanOrEqual(30);
    expect(postgres.inputs.destroyGraceSeconds).toBeGreaterThanOrEqual(postgres.inputs.stopTimeout);
  });
});

test("an adopted Postgres volume ignores labels changes (M4: compose's labels never replace the protected volume)", async () => {
  const config = committedConfig("prod");
  const postgres = JSON.parse(config["ems-infra:postgres"] ?? "{}");
  const adopted = await runCommitted("prod", {
    "ems-infra:postgres": JSON.stringify({ ...postgres, volume: "postgres_postgres_data" }),
  });
  const volume = adopted.get(T.volume, "postgres-data");
  expect(volume.inputs.name).toBe("postgres_postgres_data");
  expect(ignores(opt(volume).ignoreChanges, "labels")).toBe(true);
});

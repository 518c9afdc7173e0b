/**
 * The bench's classification (testkit/diff.ts over testkit/providerRules.ts) on mocked runs of the real program
 * (testkit/mockStack.ts): what each typical change in Pulumi.<stack>.yaml does to each resource — replace, update
 * in place, or nothing — by the pinned providers' rules and each resource's replaceOnChanges/ignoreChanges.
 */
import {
  baseline,
  Captured,
  captureStack,
  Change,
  CHANGES,
  classify,
  configFor,
  diffRuns,
  protectedViolations,
  SECRET_KEYS,
  Stack,
} from "../support";
import { T } from "../support";

const CONTAINER = T.container;
const IMAGE = T.image;
const COMMANDS: string[] = [T.localCommand, T.remoteCommand];
const STACKS: Stack[] = ["dev", "prod"];

const base: Record<string, Captured[]> = {};
beforeAll(async () => {
  for (const stack of STACKS) base[stack] = await captureStack(stack, baseline(stack), SECRET_KEYS);
}, 60_000);

const changesOf = async (stack: Stack, change: string) =>
  diffRuns(base[stack], await captureStack(stack, configFor(stack, change), SECRET_KEYS));
const of = (changes: Change[], type: string) =>
  changes.filter((c) => c.type === type).map((c) => `${c.action} ${c.name}`);
const containerChange = (changes: Change[], name: string) =>
  changes.find((c) => c.type === CONTAINER && c.name === name);

describe("classification rules (the vendored tables plus the resource's options)", () => {
  test("a container's memory is updated in place; its healthcheck alone is a state-only update (M1)", () => {
    expect(classify(CONTAINER, ["memory", "memorySwap"])).toEqual({
      action: "update",
      changed: ["memory", "memorySwap"],
    });
    expect(classify(CONTAINER, ["healthcheck"])).toEqual({
      action: "update",
      changed: ["healthcheck"],
      stateOnly: true,
    });
    expect(classify(CONTAINER, ["labels"])).toEqual({ action: "replace", changed: ["labels"] });
  });

  test("replaceOnChanges turns any covered change into a replace; ignoreChanges drops it (nothing)", () => {
    expect(classify(CONTAINER, ["healthcheck"], { replaceOnChanges: ["healthcheck"] })).toEqual({
      action: "replace",
      changed: ["healthcheck"],
    });
    expect(classify(CONTAINER, ["memory"], { replaceOnChanges: ["*"] })).toEqual({
      action: "replace",
      changed: ["memory"],
    });
    expect(classify(CONTAINER, ["logOpts"], { ignoreChanges: ["logOpts"] })).toBeUndefined();
    expect(classify(CONTAINER, ["logOpts", "memory"], { ignoreChanges: ["logOpts"] })).toEqual({
      action: "update",
      changed: ["memory"],
    });
    expect(classify("docker:index/volume:Volume", ["labels"], { ignoreChanges: ["labels"] })).toBeUndefined();
  });

  test("commands replace on triggers only; random passwords and images on their inputs; an unknown input throws", () => {
    expect(classify("command:local:Command", ["stdin"])).toEqual({ action: "update", changed: ["stdin"] });
    expect(classify("command:remote:Command", ["stdin", "triggers"], { replaceOnChanges: ["triggers[*]"] })).toEqual({
      action: "replace",
      changed: ["stdin", "triggers"],
    });
    expect(classify("random:index/randomPassword:RandomPassword", ["length"])).toEqual({
      action: "replace",
      changed: ["length"],
    });
    expect(classify(IMAGE, ["keepLocally"])).toEqual({ action: "update", changed: ["keepLocally"], stateOnly: true });
    expect(() => classify(CONTAINER, ["someNewInput"])).toThrow(/someNewInput.*not in the provider rules/);
    expect(() => classify("x:y:Z", ["v"])).toThrow(/no provider rules for x:y:Z/);
  });

  test("diffRuns: create, delete, and components only when created or deleted", () => {
    const a: Captured = { type: CONTAINER, name: "a", custom: true, inputs: { memory: 1 } };
    expect(diffRuns([a], [])).toEqual([{ action: "delete", type: CONTAINER, name: "a", changed: [] }]);
    expect(diffRuns([], [a])).toEqual([{ action: "create", type: CONTAINER, name: "a", changed: [] }]);
    expect(diffRuns([a], [{ ...a, inputs: { memory: 2 } }])).toEqual([
      { action: "update", type: CONTAINER, name: "a", changed: ["memory"] },
    ]);
    const component: Captured = { type: "ems:infra:Traefik", name: "t", custom: false, inputs: { x: 1 } };
    expect(diffRuns([component], [{ ...component, inputs: { x: 2 } }])).toEqual([]);
  });
});

describe.each(STACKS)("%s stack", (stack) => {
  test("the same config twice gives no change (the mocked runs are deterministic)", async () => {
    const again = await captureStack(stack, baseline(stack), SECRET_KEYS);
    expect(base[stack].length).toBeGreaterThan(15);
    expect(diffRuns(base[stack], again)).toEqual([]);
  });

  // prod pulls each version (a RemoteImage); dev runs images built on the laptop (imageSource: local, no pull).
  const pulls = (svc: string) => base[stack].some((r) => r.type === IMAGE && r.name === `${svc}-image`);

  test("an EMS version bump replaces the EMS image (prod: pulled) and container only", async () => {
    expect(pulls("ems")).toBe(stack === "prod");
    const changes = await changesOf(stack, "ems-version");
    expect(changes.map((c) => `${c.action} ${c.name}`)).toEqual([
      ...(pulls("ems") ? ["replace ems-image"] : []),
      "replace ems",
    ]);
    expect(containerChange(changes, "ems")!.changed).toContain("image");
  });

  test("an SMS version bump replaces the SMS image (prod: pulled) and container only", async () => {
    const changes = await changesOf(stack, "sms-version");
    expect(changes.map((c) => `${c.action} ${c.name}`)).toEqual([
      ...(pulls("sms") ? ["replace sms-image"] : []),
      "replace sms",
    ]);
  });

  test("a Traefik image change replaces Traefik and nothing of the APIs or Postgres", async () => {
    const changes = await changesOf(stack, "traefik-image");
    expect(of(changes, CONTAINER)).toEqual(["replace traefik"]);
    expect(of(changes, IMAGE)).toEqual(["replace traefik-image"]);
  });

  test("a rotated Postgres password never restarts Postgres: a host command applies it", async () => {
    const changes = await changesOf(stack, "postgres-password");
    expect(containerChange(changes, "postgres")).toBeUndefined();
    expect(changes.filter((c) => COMMANDS.includes(c.type)).length).toBeGreaterThan(0);
  });

  test("a memory-limit change updates Postgres in place (memory and memorySwap), no restart, nothing else", async () => {
    const changes = await changesOf(stack, "postgres-memory");
    expect(changes).toEqual([
      { action: "update", type: CONTAINER, name: "postgres", changed: ["memory", "memorySwap"] },
    ]);
  });

  test("a healthcheck change replaces the container it belongs to (M1), nothing else", async () => {
    const changes = await changesOf(stack, "ems-health-interval");
    expect(changes.map((c) => `${c.action} ${c.name}`)).toEqual(["replace ems"]);
    expect(containerChange(changes, "ems")!.changed).toContain("healthcheck");
  });

  test("a Traefik rate-limit change does nothing to the Traefik container: the dynamic file on the host is rewritten (m1)", async () => {
    const changes = await changesOf(stack, "traefik-rate-limit");
    expect(of(changes, CONTAINER)).toEqual([]);
    expect(changes.filter((c) => c.action === "replace" || c.action === "delete")).toEqual([]);
    const commands = changes.filter((c) => COMMANDS.includes(c.type));
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) expect(c.action).toBe("update");
  });

  test("a new database for SMS replaces the SMS container and re-runs the databases command, never Postgres", async () => {
    const changes = await changesOf(stack, "new-database");
    expect(of(changes, CONTAINER)).toEqual(["replace sms"]);
    expect(changes.filter((c) => COMMANDS.includes(c.type)).length).toBeGreaterThan(0);
  });

  test("a third API creates its image and container, re-runs host commands, and touches no running container", async () => {
    const changes = await changesOf(stack, "new-service");
    expect(of(changes, CONTAINER)).toEqual(["create crm"]);
    expect(of(changes, IMAGE)).toEqual(stack === "prod" ? ["create crm-image"] : expect.any(Array));
    for (const c of changes.filter((c) => COMMANDS.includes(c.type) && c.name.startsWith("host-layout")))
      expect(c.action).toBe("update");
  });

  test("a new domain replaces every API container (routes and verification links) but not Postgres", async () => {
    const changes = await changesOf(stack, "new-domain");
    const replaced = of(changes, CONTAINER).filter((c) => c.startsWith("replace "));
    expect(replaced).toEqual(expect.arrayContaining(["replace ems", "replace sms"]));
    expect(containerChange(changes, "postgres")).toBeUndefined();
  });
});

test("no typical change replaces or deletes a protected prod resource (Pulumi would refuse the update)", async () => {
  expect(base.prod.filter((r) => r.protect).length).toBeGreaterThanOrEqual(2);
  for (const change of CHANGES) {
    const changes = await changesOf("prod", change.name);
    expect({ change: change.name, refused: protectedViolations(base.prod, changes) }).toEqual({
      change: change.name,
      refused: [],
    });
  }
}, 120_000);

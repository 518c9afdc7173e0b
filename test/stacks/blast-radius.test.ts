/**
 * The bench's diff (bench/diff.ts) on mocked runs (bench/mockStack.ts): bumping the EMS version in
 * Pulumi.prod.yaml touches the EMS image and container only — nothing of Traefik, Postgres or SMS.
 */
import { CHANGES, SECRET_KEYS, baseline, configFor } from "../../bench/changes";
import { Captured, classify, diffRuns, protectedViolations } from "../../bench/diff";
import { captureStack } from "../../bench/mockStack";

let base: Captured[];
beforeAll(async () => {
  base = await captureStack("prod", baseline("prod"), SECRET_KEYS);
});

test("the same config twice gives no change (the mocked runs are deterministic)", async () => {
  const again = await captureStack("prod", baseline("prod"), SECRET_KEYS);
  expect(base.length).toBeGreaterThan(20);
  expect(diffRuns(base, again)).toEqual([]);
});

test("bumping the EMS version in Pulumi.prod.yaml replaces ems-image and ems, and nothing else", async () => {
  const bumped = configFor("prod", "ems-version");
  expect(JSON.parse(bumped["ems-infra:services"]).ems.version).toBe("1.0.1");
  const changes = diffRuns(base, await captureStack("prod", bumped, SECRET_KEYS));
  expect(changes).toEqual([
    { action: "replace", type: "docker:index/remoteImage:RemoteImage", name: "ems-image", changed: ["name"] },
    { action: "replace", type: "docker:index/container:Container", name: "ems", changed: ["image"] },
  ]);
  const touched = changes.map((c) => c.name).join(" ");
  for (const untouched of ["traefik", "postgres", "sms"]) expect(touched).not.toContain(untouched);
});

test("a rotated Postgres password re-runs the databases command (ALTER ROLE) and replaces the APIs, but never restarts Postgres", async () => {
  const changes = diffRuns(base, await captureStack("prod", configFor("prod", "postgres-password"), SECRET_KEYS));
  expect(changes.map((c) => `${c.action} ${c.name}`)).toEqual(["update postgres-databases", "replace ems", "replace sms"]);
  expect(changes.find((c) => c.name === "postgres-databases")!.changed).toEqual(["stdin"]);
});

test("a replaced container's new id ripples into what uses it: a new Postgres image re-runs the databases command", async () => {
  const newImage = configFor("prod", "baseline");
  newImage["ems-infra:postgres"] = JSON.stringify({ ...JSON.parse(newImage["ems-infra:postgres"]), image: "postgres:16.8" });
  const changes = diffRuns(base, await captureStack("prod", newImage, SECRET_KEYS));
  expect(changes.map((c) => `${c.action} ${c.name}`)).toEqual(["replace postgres-image", "replace postgres", "replace postgres-databases"]);
  expect(changes.find((c) => c.name === "postgres-databases")!.changed).toEqual(["triggers"]);
});

test("classification rules: docker and random resources replace on any input, commands only on triggers", () => {
  expect(classify("docker:index/container:Container", ["labels"])).toBe("replace");
  expect(classify("docker:index/volume:Volume", ["name"])).toBe("replace");
  expect(classify("random:index/randomPassword:RandomPassword", ["length"])).toBe("replace");
  expect(classify("command:local:Command", ["stdin"])).toBe("update");
  expect(classify("command:remote:Command", ["stdin", "triggers"])).toBe("replace");
  expect(classify("pulumi:providers:docker", ["registryAuth"])).toBe("update");
  const a: Captured = { type: "x:y:Z", name: "a", custom: true, inputs: { v: 1 } };
  expect(diffRuns([a], [])).toEqual([{ action: "delete", type: "x:y:Z", name: "a", changed: [] }]);
  expect(diffRuns([], [a])).toEqual([{ action: "create", type: "x:y:Z", name: "a", changed: [] }]);
  expect(diffRuns([a], [{ ...a, inputs: { v: 2 } }])).toEqual([{ action: "update", type: "x:y:Z", name: "a", changed: ["v"] }]);
});

test("no typical change replaces or deletes a protected prod resource (Pulumi would refuse the update)", async () => {
  expect(base.filter((r) => r.protect).map((r) => r.name).sort()).toEqual(["host-layout-data-folders", "postgres-data"]);
  for (const change of CHANGES) {
    const changes = diffRuns(base, await captureStack("prod", configFor("prod", change.name), SECRET_KEYS));
    expect({ change: change.name, refused: protectedViolations(base, changes) }).toEqual({ change: change.name, refused: [] });
  }
});

test("a third service updates the protected folder layout in place instead of replacing it", async () => {
  const changes = diffRuns(base, await captureStack("prod", configFor("prod", "new-service"), SECRET_KEYS));
  expect(changes.find((c) => c.name === "host-layout-data-folders")).toEqual({
    action: "update",
    type: "command:local:Command",
    name: "host-layout-data-folders",
    changed: ["create", "update"],
  });
});

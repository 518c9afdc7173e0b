/**
 * The switch's state move (ops/platformSwitch/state.ts): the one-engine platform's containers, networks and
 * volumes leave the state whole (no reference to them left, so `pulumi stack import` takes it), the rest stays.
 */
import type { Deployment } from "@pulumi/pulumi/automation";
import { atReplicas } from "../../ops/platformSwitch/gate";
import { pendingOperations, withoutOldPlatform } from "../../ops/platformSwitch/state";

const urn = (type: string, name: string) => `urn:pulumi:prod::ems-infra::${type}::${name}`;
const VOLUME = urn("ems:infra:Postgres$docker:index/volume:Volume", "postgres-data");
const PG = urn("ems:infra:Postgres$docker:index/container:Container", "postgres");
const NET = urn("docker:index/network:Network", "internal");
const CMD = urn("ems:infra:Postgres$command:local:Command", "postgres-databases");
const PASSWORD = urn("random:index/randomPassword:RandomPassword", "ems-db");
const LAYOUT = urn("ems:infra:HostLayout$command:local:Command", "host-layout");
const CRON = urn("ems:infra:Backup$command:local:Command", "backup-install");

const STATE = {
  version: 3,
  deployment: {
    manifest: {},
    resources: [
      { urn: urn("pulumi:pulumi:Stack", "ems-infra-prod"), type: "pulumi:pulumi:Stack" },
      { urn: PASSWORD, type: "random:index/randomPassword:RandomPassword" },
      { urn: LAYOUT, type: "command:local:Command", protect: true },
      { urn: VOLUME, type: "docker:index/volume:Volume", protect: true },
      { urn: NET, type: "docker:index/network:Network" },
      { urn: CRON, type: "command:local:Command", dependencies: [LAYOUT] },
      { urn: PG, type: "docker:index/container:Container", dependencies: [VOLUME, NET, LAYOUT] },
      {
        urn: CMD,
        type: "command:local:Command",
        dependencies: [PG, PASSWORD],
        propertyDependencies: { triggers: [PG], stdin: [PASSWORD] },
        deletedWith: PG,
      },
    ],
  },
} as unknown as Deployment;

test("the old platform's container, network and protected volume leave the state with every reference to them; nothing stays protected", () => {
  const { state, dropped } = withoutOldPlatform(STATE);
  // The backup job's install command too: its delete would remove the new job's crontab line (same marker).
  expect(dropped).toEqual([VOLUME, NET, CRON, PG]);
  const text = JSON.stringify(state);
  for (const u of dropped) expect(text).not.toContain(u);
  const resources = (state.deployment as { resources: Record<string, unknown>[] }).resources;
  expect(resources.map((r) => r.urn)).toEqual([urn("pulumi:pulumi:Stack", "ems-infra-prod"), PASSWORD, LAYOUT, CMD]);
  expect(resources[3]).toEqual({
    urn: CMD,
    type: "command:local:Command",
    dependencies: [PASSWORD],
    propertyDependencies: { triggers: [], stdin: [PASSWORD] },
  });
  // Nothing left protected: the swarm program protects again what it still has; the input is not modified.
  expect(resources[2]).toEqual({ urn: LAYOUT, type: "command:local:Command" });
  expect(JSON.stringify(STATE)).toContain('"protect":true');
  expect(JSON.stringify(STATE)).toContain(PG);
  expect(pendingOperations(STATE)).toBe(0);
});

test("a Swarm service counts as serving at its replica count only", () => {
  expect(atReplicas("2 2")).toBe(true);
  expect(atReplicas("1 2")).toBe(false);
  expect(atReplicas("0 0")).toBe(false);
  expect(atReplicas("")).toBe(false);
});

/** The swarm stack the tests run: the committed prod config, `platform: swarm` and a three-node cluster. */
import { PROJECT } from "../../stacks/config";
import { committedConfig } from "../mockProgram";

/** Three nodes (documentation addresses, never contacted: the mocks stand in for them); the diagram's cluster. */
export const SWARM_NODES = [
  { address: "192.0.2.10", role: "manager", labels: { "ems.acme": "true" } },
  { address: "192.0.2.11", role: "worker", labels: { "ems.postgres": "true" } },
  { address: "192.0.2.12", role: "worker", labels: {} },
] as const;

/** The secrets prod requires, as the tests set them (test/support's TEST_SECRETS). */
export const SWARM_TEST_SECRETS = {
  [`${PROJECT}:ghcrToken`]: "ghp_TESTTOKEN0123456789abcdefghijklmnop",
  [`${PROJECT}:dashboardPassword`]: "dashboard-Password-0123",
} as const;

/** The prod stack's config on a swarm (`overrides` replaces whole keys, JSON for objects). */
export function swarmProdConfig(overrides: Record<string, string> = {}): Record<string, string> {
  const prod = committedConfig("prod");
  const traefik = JSON.parse(prod[`${PROJECT}:traefik`]) as Record<string, unknown>;
  return {
    ...prod,
    ...SWARM_TEST_SECRETS,
    [`${PROJECT}:platform`]: "swarm",
    // An overlay network of its own: today's ems_system_net is a bridge on one engine.
    [`${PROJECT}:traefik`]: JSON.stringify({ ...traefik, network: "ems_system_proxy", externalNetwork: false }),
    [`${PROJECT}:swarm`]: JSON.stringify({ nodes: SWARM_NODES }),
    ...overrides,
  };
}

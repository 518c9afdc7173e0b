/** The swarm stack the tests run: the committed prod config, `platform: swarm` and a three-node cluster. */
import { EXAMPLE_SWARM_NODES } from "../../ops/swarmDiagram";
import { PROJECT } from "../../stacks/config";
import { committedConfig, TEST_SECRETS } from "./stackHarness";

/** Three nodes (documentation addresses, never contacted: the mocks stand in for them); the diagram's cluster. */
export const SWARM_NODES = EXAMPLE_SWARM_NODES;

/** The prod stack's config on a swarm (`overrides` replaces whole keys, JSON for objects). */
export function swarmProdConfig(overrides: Record<string, string> = {}): Record<string, string> {
  const prod = committedConfig("prod");
  const traefik = JSON.parse(prod[`${PROJECT}:traefik`]) as Record<string, unknown>;
  return {
    ...prod,
    ...TEST_SECRETS,
    [`${PROJECT}:platform`]: "swarm",
    // An overlay network of its own: today's ems_system_net is a bridge on one engine.
    [`${PROJECT}:traefik`]: JSON.stringify({ ...traefik, network: "ems_system_proxy", externalNetwork: false }),
    [`${PROJECT}:swarm`]: JSON.stringify({ nodes: SWARM_NODES }),
    ...overrides,
  };
}

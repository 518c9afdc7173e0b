/** The test tooling of testkit/ (shared with bench/), for the tests: through test/support, their one entry. */
export * from "../../testkit/changes";
export * from "../../testkit/diff";
export * from "../../testkit/mockStack";
export * from "../../testkit/providerRules";
export {
  createLikeProvider,
  engine as socketEngine,
  localSpec,
  readBackDiff,
  readBackLikeProvider,
} from "../../testkit/readbackEngine";
export type { InspectedContainer, ReadBackDifference } from "../../testkit/readbackEngine";
export { evaluatePack } from "../../testkit/policyEvaluator";
export type { RecordedResource as PolicyResource } from "../../testkit/policyEvaluator";
export * from "../../testkit/diagram/diagramFiles";
export * from "../../testkit/diagram/mermaid";
export { diagram } from "../../testkit/diagram/command";
export * from "../../testkit/swarm/config";
export * from "../../testkit/swarm/engine";
export * from "../../testkit/swarm/deploy";
export { SWARM_DIAGRAM_FILE, generateSwarmDiagram } from "../../testkit/diagram/swarm";

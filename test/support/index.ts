/** The one entry to the test helpers, with the one table of resource types the program registers (`T`). */
export * from "./mockRuntime";
export * from "./stackHarness";
export * from "./componentHarness";
export * from "./dockerEngine";
export * from "./fixtures";
export * from "./postgres";
export * from "./offsiteHost";
export * from "./traefikSchemas";
export * from "./vps";
export { T } from "./resourceTypes";
export * from "./opsFakes";
export * from "./traefikConstraint";
export * from "../../testkit/restic";
export * from "./fakeEngine";
export * from "./testkit";
export * from "./cutover";
export * from "./programPostgres";

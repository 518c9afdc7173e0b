/**
 * Transitional re-export of the modules the ops CLIs used to share from here (cli, workspace, changes);
 * import from those modules directly. To be removed once nothing imports it.
 */
export { confirm, describeError, handleArgs, processIo, runCli } from "./cli";
export type { Io, ParseOutcome } from "./cli";
export { assertStoredAsString, formatResourceChanges, hasChanges } from "./changes";
export { defaultDeps, policyPacks, REPO_ROOT } from "./workspace";
export type { Deps, OpsDeps, StackLike } from "./workspace";

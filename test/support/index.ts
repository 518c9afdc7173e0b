/** The one entry to the test helpers, and the one table of resource types the program registers. */
export * from "./mockRuntime";
export { StackRun, TEST_SECRETS, committedConfig, envMap, isSecretInput, labelMap, runStack, unwrap } from "./stackHarness";
export * from "./componentHarness";
export * from "./dockerEngine";
export * from "./fixtures";
export * from "./postgres";

/** Pulumi type tokens of the resources the program registers. */
export const T = {
  container: "docker:index/container:Container",
  image: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
  network: "docker:index/network:Network",
  dockerProvider: "pulumi:providers:docker",
  localCommand: "command:local:Command",
  remoteCommand: "command:remote:Command",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

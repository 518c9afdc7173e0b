/** The one table of Pulumi type tokens the program registers (the mock runtime, the diagram and the tests read it). */
export const RESOURCE_TYPES = {
  container: "docker:index/container:Container",
  image: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
  network: "docker:index/network:Network",
  service: "docker:index/service:Service",
  secret: "docker:index/secret:Secret",
  serviceConfig: "docker:index/serviceConfig:ServiceConfig",
  dockerProvider: "pulumi:providers:docker",
  localCommand: "command:local:Command",
  remoteCommand: "command:remote:Command",
  randomPassword: "random:index/randomPassword:RandomPassword",
} as const;

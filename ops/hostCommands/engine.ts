/**
 * The host command lines that ask the Docker engine what it is (the pre-flight, ops/engineFacts.ts parses what they
 * print) and that remove an interrupted create's orphan container (ops/interrupted.ts). With `dockerHost`, those of
 * the engine at that endpoint (`ems-infra:docker.host`), run from this machine.
 */
import { shellQuote } from "../../components/shell";

/** `docker`, or `docker -H <endpoint>`. */
const dockerCli = (dockerHost?: string) => (dockerHost ? `docker -H ${shellQuote(dockerHost)}` : "docker");

export const ENGINE_COMMANDS = {
  /** `<API version> <version> <arch>`, e.g. `1.41 20.10.24 amd64`. */
  version: (dockerHost?: string) =>
    `${dockerCli(dockerHost)} version --format '{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}'`,
  /** `true` or `false`: whether the kernel keeps swap limits (swap accounting). */
  swapLimit: (dockerHost?: string) => `${dockerCli(dockerHost)} info --format '{{json .SwapLimit}}'`,
};

export const ORPHAN_COMMANDS = {
  /** The container with exactly this name (an anchored regex, dots escaped): `<id> <json labels>`, or nothing. */
  find: (name: string, dockerHost?: string) =>
    `${dockerCli(dockerHost)} ps -aq --no-trunc --filter ${shellQuote(`name=^/${name.replace(/\./g, "\\.")}$`)} | ` +
    `xargs -r ${dockerCli(dockerHost)} inspect --format '{{.Id}} {{json .Config.Labels}}'`,
  /** Stopped with the grace the provider's delete gives it, then removed; its volumes are kept. */
  remove: (id: string, graceSeconds: number, dockerHost?: string) =>
    `${dockerCli(dockerHost)} stop -t ${Math.max(0, Math.floor(graceSeconds))} ${shellQuote(id)} >/dev/null && ` +
    `${dockerCli(dockerHost)} rm ${shellQuote(id)}`,
};

/** The host command lines that find and read the stack's containers (ops/containers.ts parses what they print). */
import { shellQuote } from "../../components/shell";
import { ENVIRONMENT_LABEL, SYSTEM_LABEL } from "../../stacks/opsContract";

/** Whose containers: one system of one environment (several systems may share a host and an environment). */
export interface SystemSelector {
  /** The `com.ems.system` label. */
  system: string;
  /** The `com.ems.environment` label. */
  environment: string;
}

/** `docker ps` filters selecting exactly one system's containers: both labels, which docker ANDs. */
export function labelFilters(selector: SystemSelector): string {
  return [`label=${SYSTEM_LABEL}=${selector.system}`, `label=${ENVIRONMENT_LABEL}=${selector.environment}`]
    .map((f) => `--filter ${shellQuote(f)}`)
    .join(" ");
}

/** The host command listing the system's labelled containers plus the named ones, as `docker inspect` JSON. */
export function inspectCommand(selector: SystemSelector, names: readonly string[] = []): string {
  const named = names.length ? `; printf '%s\\n' ${names.map(shellQuote).join(" ")}` : "";
  // A name that does not exist makes `docker inspect` exit 1 after printing the others: the caller reports it missing.
  return `{ docker ps -aq --no-trunc ${labelFilters(selector)}${named}; } | xargs -r docker inspect`;
}

/** The host command printing a container's last log lines (stdout and stderr together). */
export function tailCommand(container: string, lines: number): string {
  return `docker logs --tail ${lines} ${shellQuote(container)} 2>&1`;
}

/** `docker exec` in a container: `-it` with a terminal, `-i` without; every argument quoted. */
export function execCommand(container: string, command: readonly string[], tty: boolean): string {
  return `docker exec ${tty ? "-it" : "-i"} ${shellQuote(container)} ${command.map(shellQuote).join(" ")}`;
}

/**
 * The exit code of the container's last run that ended (`die` events since it was created): while a crash-looping
 * container runs again, `.State.ExitCode` is the current run's (0) and only the engine's events keep the failure.
 * Prints nothing when the engine no longer holds that event (it keeps its last 256 events). `--until` is a whole second
 * and excludes what happened after it: one second ahead, or a crash of this very second is missed (it waits for it).
 */
export function lastExitCommand(container: string, createdAt: string): string {
  return (
    `docker events --since ${shellQuote(createdAt)} --until "$(($(date +%s) + 1))" --filter ${shellQuote(`container=${container}`)} ` +
    `--filter event=die --format '{{.Actor.Attributes.exitCode}}' | tail -n 1`
  );
}

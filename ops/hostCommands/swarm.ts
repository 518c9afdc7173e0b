/** The host command lines of the swarm platform (ops/swarm.ts): run on a manager, or on the node of a task. */
import { shellQuote } from "../../components/shell";
import { swarmTaskContainer } from "../../components/swarmPostgres";

/** The line between the services' replicas and their running tasks in swarmStatusCommand's output. */
export const SWARM_STATUS_SEPARATOR = "--- tasks";

/** The host command (on a manager) listing the services' replicas, then each one's running tasks by node. */
export function swarmStatusCommand(serviceNames: readonly string[]): string {
  const names = serviceNames.map(shellQuote).join(" ");
  return (
    `for s in ${names}; do docker service ls --filter "name=$s" --format '{{.Name}}\t{{.Replicas}}'; done; ` +
    `echo ${shellQuote(SWARM_STATUS_SEPARATOR)}; ` +
    `for s in ${names}; do docker service ps --filter desired-state=running --format "$s\t{{.Node}}\t{{.CurrentState}}" "$s" 2>/dev/null; done`
  );
}

/** `docker service logs` of a service (every task's lines, prefixed by task and node); days become hours. */
export function swarmLogsCommand(name: string, options: { follow: boolean; lines: number; since?: string }): string {
  const since = options.since?.endsWith("d") ? `${Number(options.since.slice(0, -1)) * 24}h` : options.since;
  const flags = [
    ...(options.follow ? ["--follow"] : []),
    "--tail",
    String(options.lines),
    ...(since ? ["--since", since] : []),
  ];
  return `docker service logs ${flags.map(shellQuote).join(" ")} ${shellQuote(name)} 2>&1`;
}

/** The host command (on a manager) printing the address of the node running one of the service's tasks. */
export function taskNodeCommand(name: string): string {
  return (
    `node=$(docker service ps --filter desired-state=running --format '{{.Node}}' ${shellQuote(name)} | head -n 1); ` +
    `[ -n "$node" ] && docker node inspect --format '{{.Status.Addr}}' "$node"`
  );
}

/** `docker exec` into the service's running task on its node (the container name carries a task id). */
export function swarmExecCommand(name: string, command: readonly string[], tty: boolean): string {
  return `docker exec ${tty ? "-it" : "-i"} ${swarmTaskContainer(name)} ${command.map(shellQuote).join(" ")}`;
}

/**
 * The host command (on a manager) printing each service's spec as `name<TAB>replicas<TAB>image` (`global` for a
 * global service), or `name<TAB>missing<TAB>` when the swarm has no such service.
 */
export function swarmSpecCommand(serviceNames: readonly string[]): string {
  const format =
    "{{.Spec.Name}}\t{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{else}}global{{end}}\t{{.Spec.TaskTemplate.ContainerSpec.Image}}";
  return (
    `for s in ${serviceNames.map(shellQuote).join(" ")}; do ` +
    `docker service inspect --format ${shellQuote(format)} "$s" 2>/dev/null || printf '%s\\tmissing\\t\\n' "$s"; done`
  );
}

/** `docker logs` for a container of the stack. */
import { shellQuote } from "../../components/shell";

/** `docker logs` for the container; durations in days become hours (docker knows s, m, h). */
export function logsCommand(container: string, options: { follow: boolean; lines: number; since?: string }): string {
  const since = options.since?.endsWith("d") ? `${Number(options.since.slice(0, -1)) * 24}h` : options.since;
  const flags = [
    ...(options.follow ? ["--follow"] : []),
    "--tail",
    String(options.lines),
    ...(since ? ["--since", since] : []),
  ];
  return `docker logs ${flags.map(shellQuote).join(" ")} ${shellQuote(container)}`;
}

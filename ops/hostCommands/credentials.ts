/**
 * The host command lines that read the old containers' credentials (ops/migrate/credentials.ts parses what they print
 * and prints the pipe in the line that carries a secret over, so it is never typed or echoed).
 */
import { shellQuote as q } from "../../components/shell";

/** `docker inspect` of one container: its environment, one `KEY=value` a line, then its labels as JSON. */
export const inspectEnv = (container: string) =>
  `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}{{json .Config.Labels}}' ${q(container)}`;

/** The start of a pipe printing one variable of a container's environment into the next command's stdin. */
export const envValuePipe = (container: string, variable: string) =>
  `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ${q(container)} | sed -n 's/^${variable}=//p' | `;

/** The read-only host check `npm run drift` runs (components/scripts/host-check.sh, inlined). */
import { readScript, shellQuote } from "../../components/shell";
import type { HostExpectations } from "../../stacks/hostExpectations";

const SAFE_MODE = /^[0-7]{3,4}$/;

/** The check's arguments; a value with a newline (which the script cannot carry) throws. */
function hostCheckArgs(exp: HostExpectations): string[] {
  const args: string[] = [];
  const put = (flag: string, value: string) => {
    if (/[\n\0]/.test(value)) throw new Error(`host check: ${flag} value contains a newline: ${JSON.stringify(value)}`);
    args.push(flag, value);
  };
  for (const f of exp.folders) {
    if (f.mode !== undefined && !SAFE_MODE.test(f.mode))
      throw new Error(`host check: folder ${f.path}: mode ${f.mode} is not octal`);
    if (!f.path.startsWith("/")) throw new Error(`host check: folder ${f.path} is not absolute`);
    put("--folder", `${f.mode ?? ""}:${f.path}`);
  }
  if (exp.cron) put("--cron", `${exp.cron.job}=${exp.cron.line}`);
  if (exp.drillCron) put("--cron", `${exp.drillCron.job}=${exp.drillCron.line}`);
  if (exp.postgres) {
    const flag = exp.postgres.runsAs === "swarm-service" ? "--postgres-service" : "--postgres";
    put(flag, `${exp.postgres.container}:${exp.postgres.superuser}`);
    for (const r of exp.postgres.roles) put("--role", r);
    for (const d of exp.postgres.databases) put("--database", `${d.name}:${d.owner}`);
  }
  return args;
}

/** One command line (for `sh -c` or ssh) running host-check.sh with the expectations, every value quoted. */
export function hostCheckCommand(exp: HostExpectations): string {
  return [
    "sh",
    "-c",
    shellQuote(readScript("host-check.sh")),
    "host-check",
    ...hostCheckArgs(exp).map(shellQuote),
  ].join(" ");
}

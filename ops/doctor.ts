/**
 * The flow behind `npm run doctor -- --stack dev` (ops/commands/doctor.ts) and the checks `npm run deploy` runs first
 * on a development stack: the stack's files (with the developer's Pulumi.dev.local.yaml) say what to check, the
 * checks (doctorChecks.ts) look at the machine, one line per check with its fix.
 */
import { CheckResult, DoctorHost, formatCheck, realDoctorHost, runDoctorChecks } from "./doctorChecks";
import { environmentInFile, stackConfigFromFiles } from "./localConfig";
import { REPO_ROOT } from "./runner/context";
import type { Io } from "./runner/io";

/** The checks for a stack's files, or a refusal for a production stack (it is checked by the deploy's pre-flight). */
async function doctorResults(stack: string, root: string, host: DoctorHost): Promise<CheckResult[]> {
  const environment = environmentInFile(stack, root);
  if (environment !== undefined && environment !== "development")
    throw new Error(
      `stack ${stack} is a ${environment} stack: doctor checks a laptop's dev stack (the deploy checks the VPS itself)`,
    );
  return runDoctorChecks(stackConfigFromFiles(stack, root, host.env.HOME), host);
}

/** Prints the lines (all, or only those that are not ok); true when nothing would make the deploy fail. */
function report(results: CheckResult[], io: Io, all = true): boolean {
  for (const r of results) if (all || r.status !== "ok") io.out(`${formatCheck(r)}\n`);
  const failed = results.filter((r) => r.status === "fail").length;
  if (failed > 0)
    io.err(`${failed} check${failed === 1 ? "" : "s"} failed: the deploy would fail; fix the FAIL lines above\n`);
  return failed === 0;
}

/** `npm run doctor`: every line, then the next command when ready; 0 ready, 1 when a check would fail the deploy. */
export async function doctor(
  stack: string,
  io: Io,
  root = REPO_ROOT,
  host: DoctorHost = realDoctorHost,
): Promise<number> {
  const results = await doctorResults(stack, root, host);
  const ready = report(results, io);
  if (ready) io.out(`ready to deploy: npm run deploy -- --stack ${stack}\n`);
  return ready ? 0 : 1;
}

/**
 * What `npm run deploy` runs first: for a development stack, the same checks; prints the problems (every line when
 * one fails) and returns false to stop the deploy. Other stacks (no stack file, production) pass untouched.
 */
export async function checkBeforeDeploy(
  stack: string,
  io: Io,
  root = REPO_ROOT,
  host: DoctorHost = realDoctorHost,
): Promise<boolean> {
  if (environmentInFile(stack, root) !== "development") return true;
  const results = await runDoctorChecks(stackConfigFromFiles(stack, root, host.env.HOME), host);
  const passed = results.every((r) => r.status !== "fail");
  return report(results, io, !passed);
}

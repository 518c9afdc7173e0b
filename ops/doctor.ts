/**
 * `npm run doctor -- --stack dev`: checks this laptop for everything the dev stack's first deploy needs, one line
 * per check with its fix; exit 1 when something would make the deploy fail. `npm run deploy -- --stack dev` runs
 * the same checks first and stops on the same lines.
 */
import { CommandSpec, parseArgs, stackFlag } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { CheckResult, DoctorHost, formatCheck, realDoctorHost, runDoctorChecks } from "./doctorChecks";
import { environmentInFile, stackConfigFromFiles } from "./localConfig";
import { REPO_ROOT } from "./workspace";

export const doctorSpec = {
  command: "npm run doctor --",
  summary:
    "Checks this machine for what the dev stack needs (Node, Docker, Pulumi, passphrase, mkcert, .local names, " +
    "ports 80/443, the locally built images, the crontab): one line per check with its fix. Changes nothing.",
  flags: { stack: stackFlag("Stack to check for: dev (a stack with environment: development)") },
  notes: ["Exit 0: ready to deploy (WARN lines work, badly); exit 1: a FAIL line would make the deploy fail."],
  examples: ["npm run doctor -- --stack dev"],
} as const satisfies CommandSpec;

/** The checks for a stack's files, or a refusal for a production stack (it is checked by the deploy's pre-flight). */
export async function doctorResults(stack: string, root: string, host: DoctorHost): Promise<CheckResult[]> {
  const environment = environmentInFile(stack, root);
  if (environment !== undefined && environment !== "development")
    throw new Error(
      `stack ${stack} is a ${environment} stack: doctor checks a laptop's dev stack (the deploy checks the VPS itself)`,
    );
  return runDoctorChecks(stackConfigFromFiles(stack, root, host.env.HOME), host);
}

/** Prints the lines; true when nothing would make the deploy fail. */
export function report(results: CheckResult[], io: Io, all = true): boolean {
  for (const r of results) if (all || r.status !== "ok") io.out(`${formatCheck(r)}\n`);
  const failed = results.filter((r) => r.status === "fail").length;
  if (failed > 0)
    io.err(`${failed} check${failed === 1 ? "" : "s"} failed: the deploy would fail; fix the FAIL lines above\n`);
  return failed === 0;
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

export async function main(
  argv: readonly string[],
  io: Io,
  host: DoctorHost = realDoctorHost,
  root = REPO_ROOT,
): Promise<number> {
  const args = handleArgs(doctorSpec, io, () => {
    const parsed = parseArgs(doctorSpec, argv);
    return parsed.help ? parsed : { help: false as const, options: parsed.values };
  });
  if (args.kind === "exit") return args.code;
  try {
    const results = await doctorResults(args.options.stack, root, host);
    if (report(results, io)) io.out(`ready to deploy: npm run deploy -- --stack ${args.options.stack}\n`);
    return results.some((r) => r.status === "fail") ? 1 : 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

/**
 * Suites that need something from the machine (a Docker engine, PostgreSQL's server binaries) run when it is there;
 * elsewhere they are skipped with one line saying what is missing and how to get it; with CI=true they fail instead.
 */

/** `describe` when `reason` is empty; otherwise one line on stderr and `describe.skip`, or a throw under CI=true. */
export function describeIfAvailable(needs: string, reason: string, name: string, fn: () => void): void {
  if (!reason) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === "true") throw new Error(`CI=true and no ${needs}: ${reason}`);
  // Straight to stderr: one line, not console.warn's code frame.
  process.stderr.write(`SKIPPED "${name}": no ${needs} (${reason})\n`);
  describe.skip(`${name} [no ${needs}: ${reason}]`, fn);
}

/**
 * For a file of several top-level blocks or tests: `describe`/`test` when `reason` is empty, else their `.skip` after
 * one line on stderr (or a throw under CI=true). Hooks at the top of the file do not run when every test is skipped.
 */
export function suiteIfAvailable(
  needs: string,
  reason: string,
  suite: string,
): { describe: typeof describe; test: typeof test } {
  if (!reason) return { describe, test };
  if (process.env.CI === "true") throw new Error(`CI=true and no ${needs}: ${reason}`);
  process.stderr.write(`SKIPPED ${suite}: no ${needs} (${reason})\n`);
  return { describe: describe.skip, test: test.skip };
}

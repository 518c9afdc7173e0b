/**
 * `npm run doctor -- --stack dev`: checks this laptop for everything the dev stack's first deploy needs, one line
 * per check with its fix; exit 1 when something would make the deploy fail. Needs no Pulumi CLI (it checks for it).
 * `npm run deploy -- --stack dev` runs the same checks first and stops on the same lines.
 */
import { doctor as runDoctor } from "../doctor";
import { stackFlag } from "../runner/args";
import { defineCommand, runMain } from "../runner/defineCommand";

export const doctor = defineCommand({
  name: "doctor",
  summary:
    "Checks this machine for what the dev stack needs (Node, Docker, Pulumi, passphrase, mkcert, .local names, " +
    "ports 80/443, the locally built images, the crontab): one line per check with its fix. Changes nothing.",
  // The stack is read from its files, not opened: the Pulumi CLI is one of the things checked.
  stack: { mode: "none" },
  confirms: false,
  flags: { stack: stackFlag("Stack to check for: dev (a stack with environment: development)") },
  notes: ["Exit 0: ready to deploy (WARN lines work, badly); exit 1: a FAIL line would make the deploy fail."],
  examples: ["npm run doctor -- --stack dev"],
  run: (options, { io, repoRoot }) => runDoctor(options.stack, io, repoRoot),
});

runMain(module, doctor);

/**
 * `npm run down -- --stack dev [--destroy [--purge]] [--production] [--yes]`: stops a stack (its containers and the
 * backup's cron line), or removes it keeping the data unless `--purge`. See ops/down.ts.
 */
import { down as runDown } from "../down";
import { UsageError } from "../runner/args";
import { defineCommand, runMain } from "../runner/defineCommand";

export const down = defineCommand({
  name: "down",
  summary:
    "Stops a stack: removes its containers (their data stays in the volumes and folders) and the backup's cron line; " +
    "npm run deploy brings it back. --destroy removes every resource but the volumes; --purge also the volumes and the data folders.",
  stack: { mode: "select", description: "Stack to stop: dev" },
  confirms: true,
  flags: {
    destroy: {
      type: "boolean",
      description: "Remove every resource of the stack except the volumes (data folders kept)",
    },
    purge: {
      type: "boolean",
      description: "With --destroy: also delete the volumes (every database) and the data folders",
    },
    production: {
      type: "boolean",
      description: "Allow this on a production stack (its sites go offline; read what the refusal says first)",
    },
  },
  validate(options) {
    if (options.purge && !options.destroy)
      throw new UsageError("--purge goes with --destroy: npm run down -- --stack <s> --destroy --purge");
    return options;
  },
  examples: [
    "npm run down -- --stack dev",
    "npm run down -- --stack dev --destroy",
    "npm run down -- --stack dev --destroy --purge",
  ],
  run: (options, ctx) => runDown(options, ctx),
});

runMain(module, down);

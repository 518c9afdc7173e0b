/**
 * `npm run restore -- --stack prod --file <dump> [--database <db>] [--yes]`: restores a dump taken by the
 * backup job into the stack's Postgres (pg_restore --clean --if-exists), after confirmation.
 */
import { restoreCommand } from "../hostCommands/backups";
import { dumpPath, restoreTarget, targetDatabase } from "../restorePlan";
import { UsageError } from "../runner/args";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { describeHost } from "../runner/hostShell";
import { confirm } from "../runner/io";
import { hostTargetOf } from "../runner/stackConfig";
import { readOpsOutputs } from "../stackOutputs";

export const restore = defineCommand({
  name: "restore",
  summary: "Restore a dump from the stack's backups folder into its Postgres, replacing what is there.",
  stack: { mode: "select", description: "Stack to restore into (dev or prod)" },
  confirms: true,
  flags: {
    file: {
      type: "string",
      required: true,
      valueName: "dump",
      description: "Dump on the host: a path, or a file name in the backups folder",
    },
    database: {
      type: "string",
      valueName: "db",
      description: "Target database (default: the <db> part of the file name)",
    },
  },
  validate(options) {
    const { file, database } = options;
    if (!/\.(dump|sql|sql\.gz)$/.test(file))
      throw new UsageError(
        `--file must be a .dump or globals_*.sql written by the backup job, or a .sql.gz (old cron dump or npm run migrate's pg_dumpall) (got "${file}")`,
      );
    if (file.endsWith(".dump") && !targetDatabase(file, database))
      throw new UsageError(`cannot tell the database from "${file}": add --database <db>`);
    return options;
  },
  notes: ["Restore globals_<ts>.sql first when the roles are gone, then each <db>_<ts>.dump."],
  examples: [
    "npm run restore -- --stack prod --file ems_20261129T030000Z.dump",
    "npm run restore -- --stack dev --file /home/me/ems_20261129T030000Z.dump --database ems_copy --yes",
  ],
  async run({ file, database, yes }, { stack, host, io }) {
    const outputs = await readOpsOutputs(stack);
    const target = await hostTargetOf(stack);
    const dump = dumpPath(file, outputs.backupDir);
    io.out(
      `restore: ${dump} into ${restoreTarget(file, database)} of stack ${stack.name} (on ${describeHost(target)}); objects in the dump are dropped and recreated\n`,
    );
    if (!yes && !(await confirm(io, "Restore now?"))) {
      io.out("restore: cancelled, nothing changed\n");
      return EXIT.failed;
    }
    const code = await host.run(target, restoreCommand(outputs.restoreCommand, dump, database));
    return code === 0 ? EXIT.ok : EXIT.failed;
  },
});

runMain(module, restore);

/**
 * `npm run restore -- --stack prod --file <dump> [--database <db>] [--yes]`: restores a dump taken by the
 * backup job into the stack's Postgres (pg_restore --clean --if-exists), after confirmation.
 * `npm run restore -- --stack prod --from offsite [--snapshot <id>] [--only db|uploads|acme|portainer|config]`:
 * restores an off-site snapshot onto the stack's host (a new VPS included), through offsite.sh there; on a swarm,
 * each node restores its own paths from its own snapshots (a `--snapshot` id on the node that made it).
 */
import { OFFSITE_KINDS, OffsiteKind, offsiteRestoreArgs } from "../../components/backupOffsite";
import { offsiteRestoreCommand } from "../hostCommands/offsite";
import { offsiteOf } from "../offsite";
import { NOT_THIS_HOSTS_SNAPSHOT, offsiteSites } from "../offsiteSites";
import { restoreCommand } from "../hostCommands/backups";
import { dumpPath, restoreTarget, targetDatabase } from "../restorePlan";
import { UsageError } from "../runner/args";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { describeHost } from "../runner/hostShell";
import { confirm } from "../runner/io";
import { readOpsOutputs } from "../stackOutputs";
import { backupHostOf } from "../swarm";

export const restore = defineCommand({
  name: "restore",
  summary: "Restore a dump from the stack's backups folder into its Postgres, replacing what is there.",
  stack: { mode: "select", description: "Stack to restore into (dev or prod)" },
  confirms: true,
  flags: {
    file: {
      type: "string",
      valueName: "dump",
      description: "Dump on the host: a path, or a file name in the backups folder (required without --from offsite)",
    },
    from: {
      type: "string",
      valueName: "local|offsite",
      description: "offsite: restore a snapshot of the off-site repository instead of a local dump",
    },
    snapshot: {
      type: "string",
      valueName: "id",
      description: "With --from offsite: the snapshot (default: the newest)",
    },
    only: {
      type: "string",
      valueName: OFFSITE_KINDS.join("|"),
      description: "With --from offsite: restore only this part (default: all)",
    },
    database: {
      type: "string",
      valueName: "db",
      description: "Target database (default: the <db> part of the file name)",
    },
  },
  validate(options): LocalRestore | OffsiteRestore {
    const { database, from, snapshot, only, yes } = options;
    if (from !== undefined && from !== "local" && from !== "offsite")
      throw new UsageError(`--from must be local or offsite (got "${from}")`);
    if (from === "offsite") {
      if (options.file !== undefined || database !== undefined)
        throw new UsageError("--file and --database restore a local dump: not with --from offsite");
      try {
        return {
          from,
          yes,
          args: offsiteRestoreArgs({ snapshot, only: only as OffsiteKind | undefined }),
          only,
          snapshot,
        };
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    if (snapshot !== undefined || only !== undefined)
      throw new UsageError("--snapshot and --only go with --from offsite");
    const file = options.file;
    if (file === undefined) throw new UsageError("missing required flag --file <dump> (or --from offsite)");
    if (!/\.(dump|sql|sql\.gz)$/.test(file))
      throw new UsageError(
        `--file must be a .dump or globals_*.sql written by the backup job, or a .sql.gz (old cron dump or npm run migrate's pg_dumpall) (got "${file}")`,
      );
    if (file.endsWith(".dump") && !targetDatabase(file, database))
      throw new UsageError(`cannot tell the database from "${file}": add --database <db>`);
    return { from: "local", file, database, yes };
  },
  notes: ["Restore globals_<ts>.sql first when the roles are gone, then each <db>_<ts>.dump."],
  examples: [
    "npm run restore -- --stack prod --file ems_20261129T030000Z.dump",
    "npm run restore -- --stack prod --from offsite",
    "npm run restore -- --stack prod --from offsite --snapshot 4f2a9c1e --only uploads",
    "npm run restore -- --stack dev --file /home/me/ems_20261129T030000Z.dump --database ems_copy --yes",
  ],
  async run(options, { stack, host, io }) {
    const outputs = await readOpsOutputs(stack);
    if (options.from === "offsite") {
      const offsite = offsiteOf(outputs);
      if (!offsite) {
        io.err(
          `restore: stack ${stack.name} has no off-site repository: set ems-infra:backupOffsite and deploy (README, "Off-site backups")\n`,
        );
        return EXIT.usage;
      }
      // Each site restores its own paths from its own snapshots; `--only db` is the Postgres node's alone.
      const sites = (await offsiteSites(stack, offsite)).filter((s) => options.only !== "db" || s.database);
      io.out(
        `restore: ${options.only ?? "everything (databases, uploads, ACME store, Portainer, config)"} from off-site snapshot ${options.snapshot ?? "latest"} onto stack ${stack.name} (on ${sites.map((s) => s.label).join(", ")}); files are overwritten, databases dropped and recreated\n`,
      );
      if (!options.yes && !(await confirm(io, "Restore now?"))) {
        io.out("restore: cancelled, nothing changed\n");
        return EXIT.failed;
      }
      let restored = 0;
      let failed = 0;
      for (const site of sites) {
        const code = await host.run(site.target, offsiteRestoreCommand(site.command, options.args));
        if (code === NOT_THIS_HOSTS_SNAPSHOT && options.snapshot !== undefined) continue;
        if (code === 0) restored++;
        else {
          failed++;
          io.err(`restore: FAILED on ${site.label} (exit ${code}): see above\n`);
        }
      }
      if (restored === 0 && failed === 0) {
        io.err(`restore: no host of stack ${stack.name} made snapshot ${options.snapshot}: nothing restored\n`);
        return EXIT.failed;
      }
      return failed === 0 ? EXIT.ok : EXIT.failed;
    }
    const { file, database, yes } = options;
    const target = await backupHostOf(stack, outputs);
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

/** A restore of a local dump. */
interface LocalRestore {
  from: "local";
  file: string;
  database?: string;
  yes: boolean;
}

/** A restore from the off-site repository: offsite.sh's checked arguments. */
interface OffsiteRestore {
  from: "offsite";
  yes: boolean;
  args: string[];
  snapshot?: string;
  only?: string;
}

runMain(module, restore);

/**
 * `npm run down -- --stack dev [--destroy [--purge]] [--yes]`: stops the dev environment so it no longer takes ports
 * 80/443 (the containers restart `unless-stopped` after every reboot otherwise) and removes the dev backup's cron line.
 *
 * - default: the stack's containers are removed (`pulumi destroy --target` them): their data is in the volumes and
 *   host folders, which stay; `npm run deploy -- --stack dev` recreates them as they were.
 * - `--destroy`: every resource but the volumes (the networks, images, host commands...); the volumes stay in the
 *   stack and on disk, the host folders on disk.
 * - `--purge` (with --destroy): the volumes too (every database) and the data folders.
 * A production stack is refused unless `--production` is given, with what would be lost.
 * The host commands have no delete step, so the cron line is removed here, by its marker.
 */
import type { DestroyOptions, DestroyResult } from "@pulumi/pulumi/automation";
import { RESOURCE_TYPES as T } from "../components/resourceTypes";
import { shellQuote as q } from "../components/shell";
import { CommandSpec, parseArgs, stackFlag, UsageError, yesFlag } from "./args";
import { confirm, describeError, handleArgs, Io, runCli } from "./cli";
import { stackConfigFromFiles } from "./localConfig";
import { configValue, environmentOf, hostTargetOf, mapOutput } from "./stackConfig";
import { defaultDeps, OpsDeps, StackLike } from "./workspace";

export const downSpec = {
  command: "npm run down --",
  summary:
    "Stops a stack: removes its containers (their data stays in the volumes and folders) and the backup's cron line; " +
    "npm run deploy brings it back. --destroy removes every resource but the volumes; --purge also the volumes and the data folders.",
  flags: {
    stack: stackFlag("Stack to stop: dev"),
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
    yes: yesFlag(),
  },
  examples: [
    "npm run down -- --stack dev",
    "npm run down -- --stack dev --destroy",
    "npm run down -- --stack dev --destroy --purge",
  ],
} as const satisfies CommandSpec;

export interface DownOptions {
  stack: string;
  destroy: boolean;
  purge: boolean;
  production: boolean;
  yes: boolean;
}

/** What the Automation API's Stack offers beyond {@link StackLike} that `down` needs. */
export interface DownStack extends StackLike {
  destroy(opts?: DestroyOptions): Promise<DestroyResult>;
}

interface StateResource {
  urn: string;
  type: string;
  protect?: boolean;
  outputs?: Record<string, unknown>;
}

export function parseDownArgs(argv: readonly string[]): { help: true } | { help: false; options: DownOptions } {
  const parsed = parseArgs(downSpec, argv);
  if (parsed.help) return parsed;
  const { stack, destroy, purge, production, yes } = parsed.values;
  if (purge && !destroy)
    throw new UsageError("--purge goes with --destroy: npm run down -- --stack <s> --destroy --purge");
  return { help: false, options: { stack, destroy, purge, production, yes } };
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/** The URNs `down` removes: the containers and the backup schedule; with --destroy everything but the volumes. */
export function downTargets(
  resources: readonly StateResource[],
  opts: Pick<DownOptions, "destroy" | "purge">,
): string[] {
  const kept = (r: StateResource) =>
    r.type === "pulumi:pulumi:Stack" ||
    r.type.startsWith("pulumi:providers:") ||
    (r.type === T.volume && !opts.purge) ||
    // Components are removed with their children (targetDependents), never targeted themselves.
    r.type.startsWith("ems:");
  if (opts.destroy) return resources.filter((r) => !kept(r)).map((r) => r.urn);
  return resources
    .filter((r) => r.type === T.container || (r.type === T.localCommand && nameOf(r.urn) === "backup-schedule"))
    .map((r) => r.urn);
}

/**
 * The shell command that removes the backup's crontab line (the one ending in its marker, not a longer job name's),
 * leaving every other entry; nothing is written when there is no such line or no crontab.
 */
export function removeCronCommand(job: string): string {
  return [
    `m=${q(`# ems-infra:${job}`)}`,
    "current=$(crontab -l 2>/dev/null) || exit 0",
    `kept=$(printf '%s\\n' "$current" | awk -v m="$m" 'substr($0, length($0) - length(m) + 1) != m')`,
    '[ "$kept" = "$current" ] && exit 0',
    "printf '%s\\n' \"$kept\" | crontab -",
  ].join("; ");
}

/** What a production stack would lose, for the refusal. */
async function productionLoss(stack: StackLike, opts: DownOptions): Promise<string> {
  const urls = Object.values(await mapOutput(stack, "urls"));
  const sites = urls.length ? urls.join(", ") : "every site it serves";
  const lines = [`${sites} go offline until the next deploy`, "the backup job stops (no new dumps)"];
  if (opts.destroy)
    lines.push(
      "the networks, images and Traefik routes are removed (its protected resources make the destroy stop half-way)",
    );
  if (opts.purge)
    lines.push(
      "every database (the Postgres volume), Portainer's data, every upload, log and backup in the data folders: unrecoverable without an off-site copy",
    );
  return lines.map((l) => `  - ${l}`).join("\n");
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(downSpec, io, () => parseDownArgs(argv));
  if (args.kind === "exit") return args.code;
  const opts = args.options;
  const what = opts.purge ? "destroy and purge" : opts.destroy ? "destroy" : "stop";
  try {
    const stack = (await deps.openStack(opts.stack, deps.repoRoot, false)) as DownStack;
    const environment = await environmentOf(stack);
    if (environment === "production" && !opts.production) {
      io.err(
        `error: refusing to ${what} stack ${opts.stack}: it is a production stack. This would lose:\n${await productionLoss(stack, opts)}\n` +
          `If that is really what you want, re-run with --production.\n`,
      );
      return 1;
    }
    const state = await stack.exportStack();
    const resources = ((state.deployment as { resources?: StateResource[] })?.resources ?? []) as StateResource[];
    const targets = downTargets(resources, opts);
    const volumes = resources
      .filter((r) => r.type === T.volume)
      .map((r) => (typeof r.outputs?.name === "string" ? r.outputs.name : nameOf(r.urn)));
    const folders = opts.purge ? dataFolders(opts.stack, deps) : [];
    io.out(summary(opts, targets.length, volumes, folders));
    if (!opts.yes) {
      if (!io.isTTY) {
        io.err(
          `error: refusing to ${what} stack ${opts.stack} without confirmation: not a terminal; re-run with --yes\n`,
        );
        return 1;
      }
      if (!(await confirm(io, `${what[0].toUpperCase()}${what.slice(1)} stack ${opts.stack}?`))) {
        io.out("nothing changed\n");
        return 1;
      }
    }
    const target = await hostTargetOf(stack);
    const job = await backupJob(stack);
    // The stack first: if it fails half-way, the backups keep running for what still runs. The schedule resource
    // goes with it, so the next deploy installs the cron line again.
    if (targets.length > 0) {
      await stack.destroy({ target: targets, targetDependents: true, onOutput: io.out, message: `down (${what})` });
    }
    const cron = await deps.host.capture(target, removeCronCommand(job));
    if (cron.code !== 0)
      throw new Error(`could not remove the backup's crontab line (# ems-infra:${job}): ${cron.stderr.trim()}`);
    if (folders.length > 0) {
      const rm = await deps.host.capture(target, `rm -rf -- ${folders.map(q).join(" ")}`);
      if (rm.code !== 0) throw new Error(`could not delete the data folders: ${rm.stderr.trim()}`);
    }
    io.out(
      opts.destroy
        ? `stack ${opts.stack} destroyed${opts.purge ? ", its volumes and data folders deleted" : ` (kept: ${volumes.join(", ") || "no volumes"} and the data folders)`}; npm run deploy -- --stack ${opts.stack} builds it again\n`
        : `stack ${opts.stack} stopped: ports 80/443 are free; npm run deploy -- --stack ${opts.stack} starts it again (same data)\n`,
    );
    return 0;
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

function summary(opts: DownOptions, count: number, volumes: string[], folders: string[]): string {
  const lines = [
    opts.destroy
      ? `${count} resource${count === 1 ? "" : "s"} of stack ${opts.stack} will be removed (containers, networks, images, host commands)`
      : `the containers of stack ${opts.stack} will be removed (${count} resource${count === 1 ? "" : "s"} with the backup schedule); their data stays`,
    "the backup's crontab line will be removed",
    opts.purge
      ? `DELETED for good: the volumes ${volumes.join(", ") || "(none)"} and the folders ${folders.join(", ")}`
      : `kept: the volumes ${volumes.join(", ") || "(none)"} and the data folders`,
  ];
  return lines.map((l) => `${l}\n`).join("");
}

/** The backup job's name: the stack's hostExpectations output, else `<system>-backup`. */
async function backupJob(stack: StackLike): Promise<string> {
  const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
  const cron = (outputs.hostExpectations?.value as { cron?: { job?: unknown } } | undefined)?.cron;
  if (typeof cron?.job === "string" && cron.job) return cron.job;
  return `${(await configValue(stack, "ems-infra:system")) ?? "ems_system"}-backup`;
}

/** The data folders `--purge` deletes: the stack's data root and, with mkcert, its certificates folder. */
function dataFolders(name: string, deps: OpsDeps): string[] {
  // The stack file with the developer's Pulumi.dev.local.yaml: the paths the program resolved for this machine.
  const cfg = stackConfigFromFiles(name, deps.repoRoot);
  const folders = [cfg.paths.data];
  if (cfg.tls.mode === "mkcert" && !cfg.tls.certsDir.startsWith(`${cfg.paths.data}/`)) folders.push(cfg.tls.certsDir);
  return folders;
}

if (require.main === module) runCli((argv, io) => main(argv, io));

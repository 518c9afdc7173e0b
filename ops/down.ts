/**
 * The flow behind `npm run down` (ops/commands/down.ts): stops a stack so it no longer takes ports 80/443 (the
 * containers restart `unless-stopped` after every reboot otherwise) and removes the backup's cron line.
 *
 * - default: the stack's containers are removed (`pulumi destroy --target` them, with the backup schedule): their data
 *   is in the volumes and host folders, which stay; `npm run deploy` recreates them and the cron line as they were.
 * - `--destroy`: every resource but the volumes (networks, images, host commands...); the volumes stay in the stack
 *   and on disk, the host folders on disk.
 * - `--purge` (with --destroy): the volumes too (every database) and the data folders.
 * A production stack is refused unless `--production` is given, with what would be lost.
 * The host commands have no delete step, so the cron line and the folders are removed here.
 */
import type { DestroyOptions, DestroyResult } from "@pulumi/pulumi/automation";
import { RESOURCE_TYPES as T } from "../components/resourceTypes";
import { removeCronLineCommand, removeFoldersCommand } from "./hostCommands/cron";
import { stackConfigFromFiles } from "./localConfig";
import type { Context, StackLike } from "./runner/context";
import { confirm } from "./runner/io";
import { configValue, environmentOf, hostTargetOf } from "./runner/stackConfig";

export interface DownOptions {
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
  outputs?: Record<string, unknown>;
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/** The URNs `down` removes: the containers and the backup schedule; with --destroy everything but the volumes. */
function downTargets(resources: readonly StateResource[], opts: Pick<DownOptions, "destroy" | "purge">): string[] {
  const kept = (r: StateResource) =>
    r.type === "pulumi:pulumi:Stack" ||
    r.type.startsWith("pulumi:providers:") ||
    (r.type === T.volume && !opts.purge) ||
    // Components go with their children (targetDependents), never targeted themselves.
    r.type.startsWith("ems:");
  if (opts.destroy) return resources.filter((r) => !kept(r)).map((r) => r.urn);
  return resources
    .filter((r) => r.type === T.container || (r.type === T.localCommand && nameOf(r.urn) === "backup-schedule"))
    .map((r) => r.urn);
}

/** A stack output, raw (a stack that never deployed has none). */
async function output(stack: StackLike, name: string): Promise<unknown> {
  const outputs = await stack.outputs().catch(() => ({}) as Record<string, { value: unknown }>);
  return outputs[name]?.value;
}

/** What a production stack would lose, for the refusal. */
async function productionLoss(stack: StackLike, opts: DownOptions): Promise<string> {
  const urls = Object.values((await output(stack, "urls")) ?? {}).filter((u): u is string => typeof u === "string");
  const lines = [
    `${urls.length ? urls.join(", ") : "every site it serves"} go offline until the next deploy`,
    "the backup job stops (no new dumps)",
  ];
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

/** The backup job's name: the stack's hostExpectations output, else `<system>-backup`. */
async function backupJob(stack: StackLike): Promise<string> {
  const cron = ((await output(stack, "hostExpectations")) as { cron?: { job?: unknown } } | undefined)?.cron;
  if (typeof cron?.job === "string" && cron.job) return cron.job;
  return `${(await configValue(stack, "ems-infra:system")) ?? "ems_system"}-backup`;
}

/** The data folders `--purge` deletes: the data root and, with mkcert outside it, the certificates folder. */
function dataFolders(name: string, repoRoot: string): string[] {
  // The stack file with the developer's Pulumi.dev.local.yaml: the paths the program resolved on this machine.
  const cfg = stackConfigFromFiles(name, repoRoot);
  const folders = [cfg.paths.data];
  if (cfg.tls.mode === "mkcert" && !cfg.tls.certsDir.startsWith(`${cfg.paths.data}/`)) folders.push(cfg.tls.certsDir);
  return folders;
}

function summary(stack: string, opts: DownOptions, count: number, volumes: string[], folders: string[]): string {
  const plural = count === 1 ? "" : "s";
  return [
    opts.destroy
      ? `${count} resource${plural} of stack ${stack} will be removed (containers, networks, images, host commands)`
      : `the containers of stack ${stack} will be removed (${count} resource${plural} with the backup schedule); their data stays`,
    "the backup's crontab line will be removed",
    opts.purge
      ? `DELETED for good: the volumes ${volumes.join(", ") || "(none)"} and the folders ${folders.join(", ")}`
      : `kept: the volumes ${volumes.join(", ") || "(none)"} and the data folders`,
  ]
    .map((l) => `${l}\n`)
    .join("");
}

export async function down(opts: DownOptions, ctx: Context & { stack: StackLike }): Promise<number> {
  const { io, host, repoRoot } = ctx;
  const stack = ctx.stack as DownStack;
  const what = opts.purge ? "destroy and purge" : opts.destroy ? "destroy" : "stop";
  if ((await environmentOf(stack)) === "production" && !opts.production) {
    io.err(
      `error: refusing to ${what} stack ${stack.name}: it is a production stack. This would lose:\n${await productionLoss(stack, opts)}\n` +
        `If that is really what you want, re-run with --production.\n`,
    );
    return 1;
  }
  const resources = ((await stack.exportStack()).deployment as { resources?: StateResource[] })?.resources ?? [];
  const targets = downTargets(resources, opts);
  const volumes = resources
    .filter((r) => r.type === T.volume)
    .map((r) => (typeof r.outputs?.name === "string" ? r.outputs.name : nameOf(r.urn)));
  const folders = opts.purge ? dataFolders(stack.name, repoRoot) : [];
  io.out(summary(stack.name, opts, targets.length, volumes, folders));
  if (!opts.yes && !(await confirm(io, `${what[0].toUpperCase()}${what.slice(1)} stack ${stack.name}?`))) {
    io.out("nothing changed\n");
    return 1;
  }
  const target = await hostTargetOf(stack);
  const job = await backupJob(stack);
  // The stack first: if it fails half-way, the backups keep running for what still runs. The schedule resource goes
  // with it, so the next deploy installs the cron line again.
  if (targets.length > 0)
    await stack.destroy({ target: targets, targetDependents: true, onOutput: io.out, message: `down (${what})` });
  const cron = await host.capture(target, removeCronLineCommand(job));
  if (cron.code !== 0)
    throw new Error(`could not remove the backup's crontab line (# ems-infra:${job}): ${cron.stderr.trim()}`);
  if (folders.length > 0) {
    const rm = await host.capture(target, removeFoldersCommand(folders));
    if (rm.code !== 0) throw new Error(`could not delete the data folders: ${rm.stderr.trim()}`);
  }
  io.out(
    opts.destroy
      ? `stack ${stack.name} destroyed${opts.purge ? ", its volumes and data folders deleted" : ` (kept: ${volumes.join(", ") || "no volumes"} and the data folders)`}; npm run deploy -- --stack ${stack.name} builds it again\n`
      : `stack ${stack.name} stopped: ports 80/443 are free; npm run deploy -- --stack ${stack.name} starts it again (same data)\n`,
  );
  return 0;
}

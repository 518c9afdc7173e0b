/**
 * `npm run migrate -- --stack prod [--yes] [--dry-run] [--adopt-credentials] [--undo]`: the cut-over from today's
 * compose system on the VPS to the prod stack, undone by itself when the stack does not come up or the run is
 * interrupted (SIGINT, SIGTERM, SIGHUP); a killed run is resumed or undone by the next (ops/migrate/cutover.ts).
 */
import * as path from "path";
import type { StackConfig } from "../../stacks/config";
import type { ConfigMap, ConfigValue } from "@pulumi/pulumi/automation";
import type { StackCredentials } from "../migrate/credentials";
import { formatResourceChanges } from "../changes";
import { engineTooOld, planEngine, readEngine, storedFacts } from "../engineFacts";
import { clearInterrupted, describeRecovery, findPendingOperations, recoveryPlan } from "../interrupted";
import { CutoverDeps, CutoverOptions, CutoverResult, DEFAULT_GATE, runCutover } from "../migrate/cutover";
import { legacySystem } from "../migrate/legacy";
import { cutoverOutputs } from "../migrate/outputs";
import { policyPacks } from "../runner/context";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { boundShell } from "../runner/hostShell";
import { confirm, describeError } from "../runner/io";
import { parsedStackConfig } from "../runner/stackConfig";
import { describeStuck, findStuckResources } from "../stuckReplacements";

/** Exit status per outcome: 0 done or nothing to do, 1 refused/failed and undone, 3 the undo needs a human. */
export function exitCode(result: CutoverResult): number {
  switch (result.outcome) {
    case "migrated":
    case "nothing-to-migrate":
    case "nothing-to-undo":
    case "planned":
      return 0;
    case "undo-failed":
      return 3;
    default:
      return 1;
  }
}

export const migrate = defineCommand({
  name: "migrate",
  summary:
    "Cuts the VPS over from the compose system (postgres_ems_system, traefik, portainer, ems_server_prod, sms_server_prod) " +
    "to the stack: pre-flight (credentials read from the old containers), journal, backup (pg_dumpall + ACME file), " +
    "uploads copied out of the old containers, old containers stopped (kept), pulumi up, health gates and row counts; " +
    "on failure or interruption the old system is started again and watched.",
  stack: { mode: "select", description: "The production stack that takes over (prod)" },
  confirms: true,
  changes: (options) => !options["dry-run"],
  flags: {
    "dry-run": { type: "boolean", description: "Run the pre-flight and print the plan; change nothing" },
    "adopt-credentials": {
      type: "boolean",
      description:
        "Take the database names, roles, passwords and keys the old containers run with into the stack's config (as secrets) instead of refusing",
    },
    undo: {
      type: "boolean",
      description: "Undo an interrupted cut-over (found by its journal): start the old system again and watch it",
    },
  },
  validate: (v) => ({
    stack: v.stack,
    yes: v.yes,
    dryRun: v["dry-run"],
    adoptCredentials: v["adopt-credentials"],
    undo: v.undo,
  }),
  notes: [
    "A run that finds the journal of an interrupted cut-over resumes it (or undoes it with --undo).",
    'With no journal and no old container running it says "nothing to migrate".',
    "A successful cut-over disables the old backup cron line (commented out) and removes the old Postgres container.",
    "Run it on the VPS, or from a machine whose stack config has ems-infra:ssh.",
  ],
  examples: [
    "npm run migrate -- --stack prod --dry-run",
    "npm run migrate -- --stack prod --adopt-credentials",
    "npm run migrate -- --stack prod --undo",
  ],
  async run(options, ctx) {
    const { io } = ctx;
    const stack = ctx.stack as typeof ctx.stack & {
      getAllConfig(): Promise<ConfigMap>;
      setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void>;
    };
    const cfg = await parsedStackConfig(stack, options.stack);
    if (cfg.environment !== "production") {
      io.err(
        `migrate: stack ${options.stack} is not a production stack: the compose system it replaces is the VPS's\n`,
      );
      return EXIT.usage;
    }

    // The engine pre-flight of every changing command: an engine older than the program supports is refused before
    // anything changes; its facts are written just before the up, for the containers to adapt to.
    const engineShell = boundShell(cfg.docker.host ? "local" : (cfg.ssh ?? "local"), ctx.host);
    let enginePlan: ReturnType<typeof planEngine>;
    try {
      const engine = await readEngine(engineShell, cfg.docker.host);
      const tooOld = engineTooOld(engine);
      if (tooOld) throw new Error(tooOld);
      enginePlan = planEngine(engine, storedFacts(cfg.engine));
    } catch (error) {
      io.err(`migrate: pre-flight: REFUSED: ${describeError(error)}; nothing was changed\n`);
      return EXIT.failed;
    }
    for (const note of enginePlan.notes) io.out(`migrate: pre-flight: ${note}\n`);

    // SIGINT, SIGTERM, SIGHUP (a closed SSH session): the cut-over stops at its next step and undoes.
    let signal: string | undefined;
    const onSignal = (name: NodeJS.Signals) => {
      if (!signal) io.err(`\nmigrate: ${name}: undoing at the next step (the journal keeps where it stands)\n`);
      signal = name;
    };
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const sig of signals) process.on(sig, onSignal);

    const cutoverDeps: CutoverDeps = {
      // The program's own ssh (key, known_hosts) when the stack has ems-infra:ssh.
      shell: boundShell(cfg.ssh ?? "local", ctx.host),
      // Not the release flow: the old system is stopped by now, so no preview (minutes of downtime) and no second
      // question; only its B3 rule: what a failed run left half-made is replaced, never followed by a plain up.
      async up() {
        try {
          for (const edit of enginePlan.edits) await stack.setConfig(edit.key, { value: edit.value }, edit.path);
          const state = await stack.exportStack();
          const stuck = findStuckResources(state);
          if (stuck.length) io.out(describeStuck(stuck));
          // An interrupted earlier run: its orphan containers go and its pending creates are cleared first.
          const recovery = recoveryPlan(findPendingOperations(state));
          if (recovery.clearPendingCreates) {
            io.out(describeRecovery(recovery));
            const selector = { system: cfg.system, environment: cfg.environment };
            await clearInterrupted(
              stack,
              recovery,
              { shell: engineShell, selector, dockerHost: cfg.docker.host },
              io.out,
            );
          }
          const replace = stuck.map((s) => s.urn);
          const result = await stack.up({
            onOutput: io.out,
            policyPacks: policyPacks(ctx),
            ...(replace.length ? { replace } : {}),
          });
          return {
            ok: result.summary.result === "succeeded",
            message: formatResourceChanges(result.summary.resourceChanges),
          };
        } catch (error) {
          return { ok: false, message: describeError(error) };
        }
      },
      outputs: async () => cutoverOutputs(cfg, await stack.outputs()),
      confirm: async (question) => options.yes || confirm(io, question),
      log: (line) => io.out(`migrate: ${line}\n`),
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      async adoptCredentials(mismatches) {
        for (const m of mismatches) await stack.setConfig(m.key, { value: m.value, secret: m.secret }, true);
      },
      interrupted: () => signal,
    };
    const cutover: CutoverOptions = {
      legacy: legacySystem(),
      traefikImage: cfg.traefik.image,
      backupDir: safetyDumpDir(cfg.paths),
      journalDir: cfg.paths.secrets ?? cfg.paths.backups,
      system: cfg.system,
      stackName: options.stack,
      credentials: stackCredentials(cfg),
      adoptCredentials: options.adoptCredentials,
      uploads: cfg.services.map((s) => ({ service: s.name, dest: s.uploadsHostPath })),
      gate: DEFAULT_GATE,
      dryRun: options.dryRun,
      undo: options.undo,
      stopSeconds: 60,
      settleMs: 20_000,
      hostChecks: {
        portainerContainer: "portainer",
        portainerImage: cfg.portainer.enabled ? cfg.portainer.image : undefined,
        routedHosts: routedHosts(cfg),
        acmeFile: legacySystem().acmeFile,
        ipv6: cfg.traefik.ipv6,
      },
    };
    try {
      return exitCode(await runCutover(cutoverDeps, cutover));
    } finally {
      for (const sig of signals) process.off(sig, onSignal);
    }
  },
});

/** The host names the stack's Traefik routes (each needs DNS pointing here, or a certificate already stored). */
export function routedHosts(cfg: Pick<StackConfig, "services" | "traefik" | "portainer">): string[] {
  return [
    ...cfg.services.map((s) => s.host),
    ...(cfg.traefik.dashboard.enabled ? [cfg.traefik.dashboard.host] : []),
    ...(cfg.portainer.enabled ? [cfg.portainer.host] : []),
  ];
}

/**
 * Where the safety dump goes: beside the backups folder, not in it. The old backup job deletes every `*.sql.gz`
 * older than 7 days under /root/ems_system/data/backups (real-system.md §6), subfolders included.
 */
export function safetyDumpDir(paths: { backups: string }): string {
  return path.posix.join(path.posix.dirname(paths.backups), "cutover");
}

/** What the stack will run with, from its config (the cut-over compares it with the old containers). */
export function stackCredentials(cfg: Pick<StackConfig, "postgres" | "services" | "secrets">): StackCredentials {
  return {
    postgresUser: cfg.postgres.user,
    postgresPassword: cfg.secrets.postgresPassword,
    services: cfg.services.map((s) => ({
      name: s.name,
      database: s.database,
      role: s.role,
      dbPassword: cfg.secrets.serviceSecrets[s.name]?.dbPassword,
      apiKey: cfg.secrets.serviceSecrets[s.name]?.apiKey,
      jwtKey: cfg.secrets.serviceSecrets[s.name]?.jwtKey,
    })),
  };
}

runMain(module, migrate);

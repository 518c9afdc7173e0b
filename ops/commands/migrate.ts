/**
 * `npm run migrate -- --stack prod [--yes] [--dry-run] [--replace-cron]`: the cut-over from today's compose
 * system on the VPS to the prod stack, undone by itself when the stack does not come up
 * (ops/migrate/cutover.ts has the steps).
 */
import type { StackConfig } from "../../stacks/config";
import { ENVIRONMENT_LABEL } from "../../stacks/opsContract";
import type { ConfigMap } from "@pulumi/pulumi/automation";
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
import { describeStuck, findStuckResources } from "../stuckReplacements";

/** Exit status per outcome: 0 done or nothing to do, 1 refused/failed and undone, 3 the undo needs a human. */
export function exitCode(result: CutoverResult): number {
  switch (result.outcome) {
    case "migrated":
    case "nothing-to-migrate":
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
    "to the stack: pre-flight, backup (pg_dumpall + ACME file), old containers stopped (kept), pulumi up, health gates; " +
    "on failure the old system is started again.",
  stack: { mode: "select", description: "The production stack that takes over (prod)" },
  confirms: true,
  changes: (options) => !options["dry-run"],
  flags: {
    "dry-run": { type: "boolean", description: "Run the pre-flight and print the plan; change nothing" },
    "replace-cron": {
      type: "boolean",
      description: "Remove the old backup cron line (the stack installs its own job)",
    },
  },
  validate: (v) => ({ stack: v.stack, yes: v.yes, dryRun: v["dry-run"], replaceCron: v["replace-cron"] }),
  notes: [
    'A second run finds no old container running and says "nothing to migrate".',
    "Run it on the VPS, or from a machine whose stack config has ems-infra:ssh.",
  ],
  examples: [
    "npm run migrate -- --stack prod --dry-run",
    "npm run migrate -- --stack prod",
    "npm run migrate -- --stack prod --yes --replace-cron",
  ],
  async run(options, ctx) {
    const { io } = ctx;
    const stack = ctx.stack as typeof ctx.stack & { getAllConfig(): Promise<ConfigMap> };
    const { parseStackConfig } = await import("../../stacks/config");
    const all = await stack.getAllConfig();
    const raw = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
    const cfg = parseStackConfig(
      options.stack,
      raw,
      new Set(
        Object.entries(all)
          .filter(([, v]) => v.secret)
          .map(([k]) => k),
      ),
    );
    if (cfg.environment !== "production") {
      io.err(
        `migrate: stack ${options.stack} is not a production stack: the compose system it replaces is the VPS's\n`,
      );
      return EXIT.usage;
    }

    for (const line of keysNotCarriedOver(cfg)) io.out(`migrate: warning: ${line}\n`);

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
    };
    const cutover: CutoverOptions = {
      legacy: legacySystem(),
      traefikImage: cfg.traefik.image,
      backupDir: cfg.paths.backups,
      stackLabel: `${ENVIRONMENT_LABEL}=${cfg.environment}`,
      gate: DEFAULT_GATE,
      replaceCron: options.replaceCron,
      dryRun: options.dryRun,
      stopSeconds: 60,
    };
    return exitCode(await runCutover(cutoverDeps, cutover));
  },
});

/**
 * The services whose API or JWT key is not set in config: the stack would generate new ones, and every app sending
 * today's x-api-key (and every token signed with today's JWT key) would stop working at the cut-over.
 */
export function keysNotCarriedOver(cfg: Pick<StackConfig, "services" | "secrets">): string[] {
  return cfg.services.flatMap((s) => {
    const given = cfg.secrets.serviceSecrets[s.name] ?? {};
    const missing = [given.apiKey ? "" : "apiKey", given.jwtKey ? "" : "jwtKey"].filter(Boolean);
    if (missing.length === 0) return [];
    return [
      `${s.name}: no ems-infra:serviceSecrets.${s.name}.${missing.join("/")} in config: new keys will be generated and ` +
        `apps sending today's key (or today's tokens) will be refused; carry them over first (README, "Cut-over from the compose VPS")`,
    ];
  });
}

runMain(module, migrate);

/**
 * `npm run switch-platform -- --stack prod [--yes] [--dry-run] [--undo]`: moves a live one-engine stack to
 * `platform: swarm` (set the key and `ems-infra:swarm` first), stopping the old containers before the Swarm ones
 * start, undone by itself when the swarm does not serve or the run is interrupted (SIGINT, SIGTERM, SIGHUP); a killed
 * run is resumed or undone by the next (ops/platformSwitch/run.ts).
 */
import * as path from "path";
import type { ConfigMap, ConfigValue, Deployment } from "@pulumi/pulumi/automation";
import { PROJECT } from "../../stacks/configSchema";
import { deployedPlatform } from "../../stacks/platformGuard";
import { formatResourceChanges } from "../changes";
import { PLATFORM_SWITCH_COMMANDS as S } from "../hostCommands/platformSwitch";
import { cutoverOutputs } from "../migrate/outputs";
import { swarmGate } from "../platformSwitch/gate";
import { runSwitch, SwitchDeps, SwitchResult } from "../platformSwitch/run";
import { readOpsOutputs } from "../stackOutputs";
import { databaseNodeOf, managerOf, swarmNodesOf } from "../swarm";
import { policyPacks } from "../runner/context";
import { defineCommand, EXIT, runMain } from "../runner/defineCommand";
import { boundShell, HostTarget } from "../runner/hostShell";
import { confirm, describeError } from "../runner/io";
import { hostTargetOf, parsedStackConfig } from "../runner/stackConfig";

/** Exit status per outcome: 0 done or nothing to do, 1 refused/failed and undone, 3 the undo needs a human. */
export function switchExitCode(result: SwitchResult): number {
  switch (result.outcome) {
    case "switched":
    case "planned":
    case "nothing-to-undo":
      return 0;
    case "undo-failed":
      return 3;
    default:
      return 1;
  }
}

const SWITCH_KEY = `${PROJECT}:platformSwitch`;
/** How long the gate waits for the services and the APIs' answers, and between its looks. */
const GATE_MS = 300_000;
const GATE_INTERVAL_MS = 5_000;

export const switchPlatform = defineCommand({
  name: "switch-platform",
  summary:
    "Moves a live one-engine stack to platform: swarm (set ems-infra:platform and ems-infra:swarm first): pre-flight " +
    "(the pinned Postgres/Traefik node is this engine), journal, verified dump, old containers stopped (kept), the " +
    "old platform taken out of the state, pulumi up, every service at its replica count; on failure or " +
    "interruption the Swarm services go and the old containers start again on the same volume.",
  stack: { mode: "select", description: "The deployed stack that moves to swarm (prod)" },
  confirms: true,
  changes: (options) => !options["dry-run"],
  flags: {
    "dry-run": { type: "boolean", description: "Run the pre-flight and print the plan; change nothing" },
    undo: {
      type: "boolean",
      description:
        "Undo an interrupted switch (found by its journal): remove the Swarm services, start the old containers",
    },
  },
  validate: (v) => ({ stack: v.stack, yes: v.yes, dryRun: v["dry-run"], undo: v.undo }),
  notes: [
    "A run that finds the journal of an interrupted switch resumes it (or undoes it with --undo).",
    "npm run deploy and rollback refuse a platform change; a raw pulumi up does too (the program reads its own last outputs).",
    "Run it on the VPS, or from a machine whose stack config reaches it (ems-infra:ssh).",
  ],
  examples: [
    "npm run switch-platform -- --stack prod --dry-run",
    "npm run switch-platform -- --stack prod",
    "npm run switch-platform -- --stack prod --undo",
  ],
  async run(options, ctx) {
    const { io } = ctx;
    const stack = ctx.stack as typeof ctx.stack & {
      getAllConfig(): Promise<ConfigMap>;
      setConfig(key: string, value: ConfigValue, path?: boolean): Promise<void>;
      importStack(state: Deployment): Promise<void>;
    };
    const cfg = await parsedStackConfig(stack, options.stack);
    if (cfg.platform !== "swarm" || !cfg.swarm) {
      io.err(
        `switch-platform: ${PROJECT}:platform is "${cfg.platform}" in stack ${options.stack}: set it to swarm and describe ` +
          `${PROJECT}:swarm first (README "Moving to Swarm"); nothing was changed\n`,
      );
      return EXIT.usage;
    }
    const rawOutputs = await stack.outputs();
    const last = deployedPlatform({ platform: rawOutputs.platform?.value, system: rawOutputs.system?.value });
    const journalDir = cfg.paths.secrets ?? cfg.paths.backups;
    const shell = boundShell(await hostTargetOf(stack), ctx.host);
    // What the one-engine stack runs (its outputs); a resumed run after the up reads the same names from its journal.
    let containers: { traefik?: string; postgres: string; portainer?: string; apis: string[] };
    let volume: string;
    try {
      const outputs = await readOpsOutputs(stack);
      containers = {
        traefik: outputs.containers.traefik,
        postgres: outputs.containers.postgres ?? `${cfg.system}-postgres`,
        portainer: outputs.containers.portainer,
        apis: cfg.services.map((s) => outputs.containers[s.name]).filter((n): n is string => !!n),
      };
      volume = String(rawOutputs.postgresVolume?.value ?? `${cfg.system}_pgdata_${cfg.postgres.dataVersion}`);
    } catch (error) {
      io.err(`switch-platform: ${describeError(error)}; nothing was changed\n`);
      return EXIT.failed;
    }

    let signal: string | undefined;
    const onSignal = (name: NodeJS.Signals) => {
      if (!signal) io.err(`\nswitch-platform: ${name}: undoing at the next step (the journal keeps where it stands)\n`);
      signal = name;
    };
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    for (const sig of signals) process.on(sig, onSignal);

    const placeOf = async (target: HostTarget) => {
      const r = await boundShell(target, ctx.host).run(S.placeIdentity(volume));
      if (r.code !== 0) throw new Error(`docker info on ${boundShell(target).where}: ${r.stderr.trim()}`);
      return r.stdout.trim();
    };
    const traefikNode = async () => {
      const pin = cfg.swarm!.pins.traefik;
      const [key, value] = [pin.slice(0, pin.indexOf("=")), pin.slice(pin.indexOf("=") + 1)];
      const node = (await swarmNodesOf(stack)).find((n) => n.labels[key] === value);
      if (!node) throw new Error(`no node of ${PROJECT}:swarm.nodes has the label ${pin}`);
      return node.connection;
    };
    const manager = () => managerOf(stack).then((m) => boundShell(m, ctx.host));
    const deps: SwitchDeps = {
      shell,
      pinnedPlaces: async () => ({
        postgres: await placeOf(await databaseNodeOf(stack)),
        traefik: await placeOf(await traefikNode()),
      }),
      async removeNewPlatform() {
        const r = await (await manager()).run(S.removeServices(cfg.system, 120), { timeoutMs: 180_000 });
        if (r.code !== 0) throw new Error(r.stderr.trim() || `exit ${r.code}`);
        return r.stdout.split("\n").filter(Boolean);
      },
      exportState: () => stack.exportStack(),
      importState: (state) => stack.importStack(state),
      allowSwitch: (on) =>
        on ? stack.setConfig(SWITCH_KEY, { value: "swarm" }) : stack.removeConfig(SWITCH_KEY).catch(() => undefined),
      async up() {
        try {
          const result = await stack.up({
            onOutput: io.out,
            policyPacks: policyPacks(ctx),
            message: "switch-platform: docker → swarm",
          });
          return {
            ok: result.summary.result === "succeeded",
            message: formatResourceChanges(result.summary.resourceChanges),
          };
        } catch (error) {
          return { ok: false, message: describeError(error) };
        }
      },
      async gate() {
        const outputs = await readOpsOutputs(stack);
        return swarmGate(
          { shell, manager, now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
          {
            services: Object.values(outputs.containers),
            apis: cutoverOutputs(cfg, await stack.outputs()).apis,
            postgresService: outputs.containers.postgres ?? `${cfg.system}-postgres`,
            superuser: cfg.postgres.user,
            timeoutMs: GATE_MS,
            intervalMs: GATE_INTERVAL_MS,
          },
        );
      },
      confirm: async (question) => options.yes || confirm(io, question),
      log: (line) => io.out(`switch-platform: ${line}\n`),
      now: () => Date.now(),
      interrupted: () => signal,
    };
    try {
      return switchExitCode(
        await runSwitch(deps, {
          stackName: options.stack,
          system: cfg.system,
          deployedPlatform: last,
          volume,
          postgresUser: cfg.postgres.user,
          containers,
          journalDir,
          backupDir: path.posix.join(path.posix.dirname(cfg.paths.backups), "platform-switch"),
          dryRun: options.dryRun,
          undo: options.undo,
          stopSeconds: 60,
        }),
      );
    } finally {
      for (const sig of signals) process.off(sig, onSignal);
    }
  },
});

runMain(module, switchPlatform);

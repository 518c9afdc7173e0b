/**
 * The cut-over rehearsal's machinery, shared by test/migrate/rehearsal.test.ts, test/migrate/interrupted.test.ts
 * and bench/cutover.ts: today's VPS (vps.ts) on the real dockerd, and a Deps.up that creates the prod stack's
 * containers from the program's own specs (runStack under mocks), the new Traefik being a test HTTPS proxy routing by
 * the containers' own labels. The stack's config starts as the committed prod file plus secrets; `adoptCredentials`
 * writes into it what `--adopt-credentials` writes into the real stack's, and the stack is evaluated again.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { CUTOVER_COMMANDS } from "../../ops/hostCommands/cutover";
import type { CredentialMismatch } from "../../ops/migrate/credentials";
import { CutoverDeps, CutoverOptions, CutoverResult, runCutover } from "../../ops/migrate/cutover";
import type { Step } from "../../ops/migrate/journal";
import { boundShell, BoundShell } from "../../ops/runner/hostShell";
import { legacySystem } from "../../ops/migrate/legacy";
import { cutoverOutputs } from "../../ops/migrate/outputs";
import { routedHosts, safetyDumpDir, stackCredentials } from "../../ops/commands/migrate";
import { PREFLIGHT_COMMANDS } from "../../ops/hostCommands/preflight";
import { docker, IMAGES, inspect, plain, run } from "./dockerEngine";
import { committedConfig, TEST_SECRETS, runStack, StackRun } from "./stackHarness";
import { T } from "./resourceTypes";
import { RecordedResource } from "./mockRuntime";
import { buildTodaysVps, createFromSpec, startTestProxy, TestProxy, TodaysVps, waitForPostgres } from "./vps";

const REHEARSAL_SECRETS: Record<string, string> = {
  ...TEST_SECRETS,
  "ems-infra:dashboardPassword": "painel-Traefik-2026-senha",
};
const API_IMAGES: Record<string, string> = { ems: IMAGES.emsPg, sms: IMAGES.smsPg };

export interface Rehearsal {
  vps: TodaysVps;
  proxy: TestProxy;
  /** The stack as the program registers it with the current config. */
  stack(): StackRun;
  /** The stack's config as `pulumi config --show-secrets` would list it. */
  config: Record<string, string>;
  /** The new containers created so far (the stack's). */
  createdNew: Set<string>;
  newPostgres(): string;
  /** One cut-over run; `fail` makes `pulumi up` fail after the databases step; `killAt` never returns from that step. */
  cutover(
    opts?: Partial<CutoverOptions> & { fail?: boolean; killAt?: Step; interruptAt?: Step },
  ): Promise<{ result?: CutoverResult; log: string[] }>;
  /** The new API container of a service. */
  newApi(svc: string): string | undefined;
  /** The API key the stack's containers check. */
  uploadedSecret(svc: string, key: string): string | undefined;
  cleanup(): Promise<void>;
}

export async function startRehearsal(): Promise<Rehearsal> {
  const config = { ...committedConfig("prod"), ...REHEARSAL_SECRETS };
  const secretKeys = () => Object.keys(config).filter((k) => k in REHEARSAL_SECRETS || k.includes("Secrets"));
  let stack = await runStack("prod", config, secretKeys());
  const vps = await buildTodaysVps();
  const proxy = await startTestProxy(vps.rename);
  const createdNew = new Set<string>();
  const createdNetworks = new Set<string>();
  let newPostgres = "";

  const containerSpecs = () => stack.ofType(T.container);
  const postgresSpec = () => stack.get(T.container, "postgres");
  const labelsOf = (c: RecordedResource) =>
    Object.fromEntries(
      (plain<{ label: string; value: string }[] | undefined>(c.inputs.labels) ?? []).map((l) => [l.label, l.value]),
    );
  const apiSpec = (svc: string) => containerSpecs().find((c) => labelsOf(c)["com.ems.service"] === svc)!;

  function ensureNetworks(): void {
    for (const n of stack.ofType(T.network)) {
      const spec = plain<{ name: string; internal?: boolean }>(n.inputs);
      const name = vps.rename(spec.name);
      if (run("docker", ["network", "inspect", name]).status === 0) continue;
      docker(["network", "create", ...(spec.internal ? ["--internal"] : []), name]);
      createdNetworks.add(name);
    }
  }

  /** Runs the program's databases command (docker exec -i <postgres> sh -s < ensure-databases.sh) as the provider would. */
  function runDatabasesCommand(pgName: string): { ok: boolean; output: string } {
    const specName = plain<string>(postgresSpec().inputs.name);
    const commands = [...stack.ofType(T.localCommand), ...stack.ofType(T.remoteCommand)].filter((c) => {
      const create = plain<string>(c.inputs.create) ?? "";
      return create.includes("docker exec") && create.includes(specName) && create.includes("sh -s");
    });
    if (commands.length !== 1)
      return { ok: false, output: `expected one databases command, found ${commands.map((c) => c.name).join(", ")}` };
    const inputs = plain<{ create: string; stdin?: string; environment?: Record<string, string> }>(commands[0].inputs);
    const create = inputs.create.split(specName).join(pgName);
    const r = spawnSync("sh", ["-c", create], {
      input: inputs.stdin ?? "",
      env: { ...process.env, ...(inputs.environment ?? {}) },
      encoding: "utf8",
      timeout: 120_000,
    });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  }

  function create(spec: RecordedResource, image: string, fallbackName: string): string {
    const specName = plain<string | undefined>(spec.inputs.name);
    const name = vps.rename(specName ?? fallbackName);
    run("docker", ["rm", "-f", name]); // what a replacement by the next `pulumi up` does
    createdNew.add(name);
    const withName = specName ? spec : { ...spec, inputs: { ...spec.inputs, name: fallbackName } };
    return createFromSpec(withName, {
      rename: vps.rename,
      image,
      bindRoot: vps.root,
      aliases: specName ? [specName] : [],
    });
  }

  async function up(fail: boolean): Promise<{ ok: boolean; message: string }> {
    ensureNetworks();
    newPostgres = create(postgresSpec(), IMAGES.postgres, "postgres");
    await waitForPostgres(newPostgres, 90_000);
    const databases = runDatabasesCommand(newPostgres);
    if (!databases.ok) return { ok: false, message: `postgres-databases: ${databases.output}` };
    if (fail) return { ok: false, message: "ems: the container did not become healthy within 120 s" };
    for (const svc of ["ems", "sms"]) proxy.route(create(apiSpec(svc), API_IMAGES[svc], `${svc}-api`));
    return { ok: true, message: `${createdNew.size} created` };
  }

  function uploadedSecret(svc: string, key: string): string | undefined {
    const uploads = plain<{ file: string; content?: string }[]>(apiSpec(svc).inputs.uploads) ?? [];
    const env = uploads.find((u) => u.file === "/run/ems/secrets.env")?.content ?? "";
    return new RegExp(`^${key}=(.*)$`, "m").exec(env)?.[1];
  }

  const outputs = async () => {
    if (createdNew.size === 0) throw new Error('stack prod has no output "containers": it was never deployed');
    return cutoverOutputs(stack.config, {
      ...Object.fromEntries(
        Object.entries(plain<Record<string, unknown>>(stack.outputs)).map(([k, v]) => [k, { value: v }]),
      ),
      containers: { value: [...createdNew] },
      postgresContainer: { value: newPostgres },
      apiKeys: { value: { ems: uploadedSecret("ems", "API_KEY"), sms: uploadedSecret("sms", "API_KEY") } },
    });
  };

  /** The host shell: engine-wide lookups kept to this run's names (the engine is shared), crontab → a file. */
  function shell(): BoundShell {
    const local = boundShell("local");
    const engineWide = new Set([
      CUTOVER_COMMANDS.withLabel("com.ems.system=ems_system"),
      CUTOVER_COMMANDS.publishing(80),
      CUTOVER_COMMANDS.publishing(443),
      PREFLIGHT_COMMANDS.containers,
    ]);
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    return {
      where: "local",
      run: (command, options) => {
        if (command === PREFLIGHT_COMMANDS.crontab) command = `cat ${q(vps.crontabFile)}`;
        else if (command === CUTOVER_COMMANDS.writeCrontab) command = `cat >${q(vps.crontabFile)}`;
        else if (engineWide.has(command)) command = `${command} --filter name=${vps.rename("")}`;
        // Names resolve from /etc/hosts only: a test never asks a DNS server (loopback and its own networks only).
        else if (command.startsWith("getent ahosts "))
          command = command.replace("getent ahosts ", "getent -s files ahosts ");
        return local.run(command, options);
      },
    };
  }

  function options(): CutoverOptions {
    const cfg = stack.config;
    return {
      legacy: legacySystem(vps.rename, vps.acmeFile),
      traefikImage: cfg.traefik.image,
      backupDir: vps.hostPath(safetyDumpDir(cfg.paths)),
      journalDir: vps.hostPath(cfg.paths.secrets ?? cfg.paths.backups),
      system: cfg.system,
      stackName: "prod",
      credentials: stackCredentials(cfg),
      adoptCredentials: false,
      uploads: cfg.services.map((s) => ({ service: s.name, dest: vps.hostPath(s.uploadsHostPath) })),
      gate: { address: "127.0.0.1", port: proxy.port, insecure: true, timeoutMs: 60_000, intervalMs: 1_000 },
      dryRun: false,
      undo: false,
      stopSeconds: 10,
      settleMs: 3_000,
      hostChecks: {
        portainerContainer: vps.rename("portainer"),
        portainerImage: cfg.portainer.image,
        routedHosts: routedHosts(cfg),
        acmeFile: vps.acmeFile,
        ipv6: cfg.traefik.ipv6,
      },
    };
  }

  async function adoptCredentials(mismatches: CredentialMismatch[]): Promise<void> {
    // What `pulumi config set --path [--secret]` does to the stack's config: serviceSecrets is one JSON object.
    const secrets = JSON.parse(config["ems-infra:serviceSecrets"] ?? "{}") as Record<string, Record<string, string>>;
    const services = JSON.parse(config["ems-infra:services"]) as Record<string, Record<string, unknown>>;
    const pg = JSON.parse(config["ems-infra:postgres"]) as Record<string, unknown>;
    for (const m of mismatches) {
      const [top, ...rest] = m.key.replace(/^ems-infra:/, "").split(".");
      if (top === "serviceSecrets") (secrets[rest[0]] ??= {})[rest[1]] = m.value;
      else if (top === "services") (services[rest[0]] ??= {})[rest[1]] = m.value;
      else if (top === "postgres") pg[rest[0]] = m.value;
      else config[`ems-infra:${top}`] = m.value;
    }
    config["ems-infra:serviceSecrets"] = JSON.stringify(secrets);
    config["ems-infra:services"] = JSON.stringify(services);
    config["ems-infra:postgres"] = JSON.stringify(pg);
    stack = await runStack("prod", config, secretKeys());
  }

  return {
    vps,
    proxy,
    stack: () => stack,
    config,
    createdNew,
    newPostgres: () => newPostgres,
    newApi: (svc) => [...createdNew].find((n) => inspect(n).Config.Labels?.["com.ems.service"] === svc),
    uploadedSecret,
    async cutover(opts = {}) {
      const { fail = false, killAt, interruptAt, ...overrides } = opts;
      const log: string[] = [];
      let interrupted: string | undefined;
      const deps: CutoverDeps = {
        shell: shell(),
        up: () => up(fail),
        outputs,
        confirm: async () => true,
        log: (line) => log.push(line),
        now: () => Date.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        adoptCredentials,
        interrupted: () => interrupted,
        // kill -9 at a step: the run never goes on (its promise stays pending), nothing of it cleans up.
        checkpoint: (step) => {
          if (step === interruptAt) interrupted = "SIGHUP";
          return step === killAt ? new Promise<void>(() => undefined) : Promise.resolve();
        },
      };
      const running = runCutover(deps, { ...options(), ...overrides });
      if (!killAt) return { result: await running, log };
      // Killed: wait until the run reached the step (the journal names it), then leave it hanging.
      const journal = path.join(options().journalDir, "cutover-journal.json");
      const deadline = Date.now() + 120_000;
      for (;;) {
        const settled = await Promise.race([running, new Promise((r) => setTimeout(() => r(undefined), 200))]);
        if (settled) return { result: settled as CutoverResult, log };
        const text = run("cat", [journal]).stdout;
        if (text.includes(`"step": "${killAt}"`)) return { log };
        if (Date.now() > deadline) throw new Error(`the cut-over never reached step ${killAt}:\n${log.join("\n")}`);
      }
    },
    async cleanup() {
      await proxy.close();
      for (const c of createdNew) run("docker", ["rm", "-f", c]);
      for (const n of createdNetworks) run("docker", ["network", "rm", n]);
      vps.cleanup();
    },
  };
}

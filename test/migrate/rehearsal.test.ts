/**
 * Rehearsal of `npm run migrate` on the real dockerd and PostgreSQL: today's VPS built as the compose files
 * describe it (test/support/vps.ts), then the cut-over with a Deps.up that creates the prod stack's
 * containers from the program's own specs (runStack under mocks), the new Traefik being a test HTTPS
 * proxy routing by the containers' own labels. Compared: every row, role and grant, every upload, the ACME
 * file byte for byte; then the undo, the no-op second run, and the dump restored row-identical.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CUTOVER_COMMANDS } from "../../ops/migrate/commands";
import { CutoverDeps, CutoverOptions, runCutover } from "../../ops/migrate/cutover";
import { boundShell, BoundShell } from "../../ops/runner/hostShell";
import { legacySystem } from "../../ops/migrate/legacy";
import { cutoverOutputs } from "../../ops/migrate/outputs";
import {
  buildTestImages,
  buildTodaysVps,
  committedConfig,
  createFromSpec,
  databaseSnapshot,
  describeWithDocker,
  docker,
  folderHashes,
  IMAGES,
  inspect,
  labelMap,
  PgServer,
  plain,
  psqlIn,
  RecordedResource,
  run,
  runScript,
  runStack,
  StackRun,
  startPostgres,
  startTestProxy,
  T,
  TEST_SECRETS,
  TestProxy,
  TodaysVps,
  waitForPostgres,
} from "../support";

jest.setTimeout(900_000);

const SECRETS: Record<string, string> = { ...TEST_SECRETS, "ems-infra:dashboardPassword": "painel-Traefik-2026-senha" };
const LABEL = "com.ems.environment=production";
const API_IMAGES: Record<string, string> = { ems: IMAGES.ems, sms: IMAGES.sms };

describeWithDocker("rehearsal: today's compose VPS cut over to the prod stack", () => {
  let vps: TodaysVps;
  let stack: StackRun;
  let proxy: TestProxy;
  let before: Record<string, unknown>;
  let uploadsBefore: Record<string, Record<string, string>>;
  let acmeBefore: Buffer;
  const createdNew = new Set<string>();
  const createdNetworks = new Set<string>();
  let newPostgres = "";

  beforeAll(async () => {
    buildTestImages();
    stack = await runStack("prod", { ...committedConfig("prod"), ...SECRETS }, Object.keys(SECRETS));
    vps = await buildTodaysVps();
    proxy = await startTestProxy(vps.rename);
    before = databaseSnapshot((sql, db) => psqlIn(vps.postgres, sql, db));
    uploadsBefore = Object.fromEntries(Object.entries(vps.uploads).map(([svc, dir]) => [svc, folderHashes(dir)]));
    acmeBefore = fs.readFileSync(vps.acmeFile);
  });

  afterAll(async () => {
    await proxy?.close();
    for (const c of createdNew) run("docker", ["rm", "-f", c]);
    for (const n of createdNetworks) run("docker", ["network", "rm", n]);
    vps?.cleanup();
  });

  const containerSpecs = () => stack.ofType(T.container);
  const postgresSpec = () => stack.get(T.container, "postgres");
  const labelsOf = (c: RecordedResource) => (c.inputs.labels ? labelMap(c) : {});
  const apiSpec = (svc: string) => containerSpecs().find((c) => labelsOf(c)["com.ems.service"] === svc)!;

  /** The stack's own networks that do not exist yet (the adopted ems_system_net does). */
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
      return {
        ok: false,
        output: `expected one databases command, found ${commands.map((c) => c.name).join(", ") || "none"}`,
      };
    const inputs = plain<{ create: string; stdin?: string; environment?: Record<string, string> }>(commands[0].inputs);
    const create = (inputs.create as string).split(specName).join(pgName);
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
    const withName = specName ? spec : { ...spec, inputs: { ...spec.inputs, name: specName ?? fallbackName } };
    return createFromSpec(withName, {
      rename: vps.rename,
      image,
      bindRoot: vps.root,
      aliases: specName ? [specName] : [],
    });
  }

  /** `pulumi up` on dockerd: the stack's networks, its Postgres on the adopted volume, the databases command, the APIs behind the proxy. */
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

  /** The API_KEY line of the secrets.env the program uploads into a service's container: the key the server checks. */
  function uploadedApiKey(svc: string): string | undefined {
    const uploads = plain<{ file: string; content?: string }[]>(apiSpec(svc).inputs.uploads) ?? [];
    const env = uploads.find((u) => u.file === "/run/ems/secrets.env")?.content ?? "";
    return /^API_KEY=(.*)$/m.exec(env)?.[1];
  }

  /**
   * The stack's outputs as `pulumi stack output --show-secrets` gives them, with this run's container names.
   * The keys are the ones uploaded into the containers; that the stack outputs the same ones as `apiKeys`
   * is its own test below.
   */
  const outputs = async () =>
    cutoverOutputs(stack.config, {
      ...Object.fromEntries(
        Object.entries(plain<Record<string, unknown>>(stack.outputs)).map(([k, v]) => [k, { value: v }]),
      ),
      containers: { value: [...createdNew] },
      postgresContainer: { value: newPostgres },
      apiKeys: { value: { ems: uploadedApiKey("ems"), sms: uploadedApiKey("sms") } },
    });

  /** The host shell, with the engine-wide lookups (label, ports) kept to this run's containers: other tests share the engine. */
  function shell(): BoundShell {
    const local = boundShell("local");
    const engineWide = new Set([
      CUTOVER_COMMANDS.withLabel(LABEL),
      CUTOVER_COMMANDS.publishing(80),
      CUTOVER_COMMANDS.publishing(443),
    ]);
    return {
      where: "local",
      run: (command, options) =>
        local.run(engineWide.has(command) ? `${command} --filter name=${vps.rename("")}` : command, options),
    };
  }

  function deps(fail: boolean, log: string[]): CutoverDeps {
    return {
      shell: shell(),
      up: () => up(fail),
      outputs,
      confirm: async () => true,
      log: (line) => log.push(line),
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
  }

  const options = (): CutoverOptions => ({
    legacy: legacySystem(vps.rename, vps.acmeFile),
    traefikImage: stack.config.traefik.image,
    backupDir: vps.backupDir,
    stackLabel: LABEL,
    gate: { address: "127.0.0.1", port: proxy.port, insecure: true, timeoutMs: 60_000, intervalMs: 1_000 },
    replaceCron: false,
    dryRun: false,
    stopSeconds: 2,
  });

  const state = (c: string) => inspect(c).State as { Running: boolean };
  const restartPolicy = (c: string) => inspect(c).HostConfig.RestartPolicy.Name as string;
  const oldApiAnswers = (svc: string) => {
    const ip = inspect(vps.apis[svc]).NetworkSettings.Networks[vps.network].IPAddress;
    const port = svc === "ems" ? 8181 : 8080;
    return run(
      "sh",
      [
        "-c",
        `curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H @- "http://$1:$2/api/v1/health"`,
        "sh",
        ip,
        String(port),
      ],
      { input: `x-api-key: ${vps.apiKeys[svc]}\n` },
    ).stdout;
  };

  test("the stack the rehearsal deploys adopts the volume and network the compose system made", () => {
    const mounts = plain<{ type: string; source: string; target: string }[]>(postgresSpec().inputs.mounts);
    expect(mounts).toContainEqual(
      expect.objectContaining({
        type: "volume",
        source: "postgres_ems_system_data",
        target: "/var/lib/postgresql/data",
      }),
    );
    const networks = plain<{ name: string }[]>(apiSpec("ems").inputs.networksAdvanced).map((n) => n.name);
    expect(networks).toContain("ems_system_net");
  });

  test("the stack outputs the API keys its containers check (the cut-over's health gate reads them)", async () => {
    const keys = plain<Record<string, string> | undefined>(stack.outputs.apiKeys);
    expect(keys).toEqual({ ems: uploadedApiKey("ems"), sms: uploadedApiKey("sms") });
    expect(uploadedApiKey("ems")).toMatch(/^.{16,}$/);
  });

  test("undo: when the new stack fails, its containers are stopped and the old system answers again with every row", async () => {
    const log: string[] = [];
    const result = await runCutover(deps(true, log), options());
    console.log(`rehearsal (undo):\n  ${log.join("\n  ")}`);

    expect(result).toMatchObject({
      outcome: "rolled-back",
      reason: "pulumi up failed: ems: the container did not become healthy within 120 s",
    });
    expect(state(newPostgres).Running).toBe(false);
    for (const c of [vps.postgres, vps.apis.ems, vps.apis.sms, vps.rename("traefik"), vps.rename("portainer")])
      expect(state(c).Running).toBe(true);
    expect(restartPolicy(vps.postgres)).toBe("always");
    expect(restartPolicy(vps.apis.ems)).toBe("unless-stopped");
    await waitForPostgres(vps.postgres);
    expect(databaseSnapshot((sql, db) => psqlIn(vps.postgres, sql, db))).toEqual(before);
    expect(oldApiAnswers("ems")).toBe("200");
    expect(oldApiAnswers("sms")).toBe("200");
    expect(fs.readFileSync(vps.acmeFile).equals(acmeBefore)).toBe(true);
  });

  test("cut-over: every row, role, grant, upload and the ACME file survive; the APIs answer through the new proxy", async () => {
    const log: string[] = [];
    const result = await runCutover(deps(false, log), options());
    console.log(`rehearsal (cut-over):\n  ${log.join("\n  ")}`);
    expect(result.outcome).toBe("migrated");
    if (result.outcome !== "migrated") return;
    console.log(`rehearsal: measured downtime ${result.downtimeSeconds} s`);
    expect(result.downtimeSeconds).toBeGreaterThan(0);

    // The old system: kept, stopped, and it will not come back on a reboot.
    for (const c of [vps.postgres, vps.apis.ems, vps.apis.sms, vps.rename("traefik"), vps.rename("portainer")]) {
      expect(state(c).Running).toBe(false);
      expect(restartPolicy(c)).toBe("no");
    }
    // The data: the new Postgres opened the same volume; rows, roles, grants and default privileges are as before.
    expect(
      inspect(newPostgres).Mounts.find((m: { Destination: string }) => m.Destination === "/var/lib/postgresql/data")
        .Name,
    ).toBe(vps.volume);
    expect(databaseSnapshot((sql, db) => psqlIn(newPostgres, sql, db))).toEqual(before);
    // The roles' passwords are the stack's now: each API's DB_PASS logs its role in over TCP (scram), the old one no longer does.
    for (const svc of ["ems", "sms"]) {
      const uploads = plain<{ file: string; content?: string }[]>(apiSpec(svc).inputs.uploads) ?? [];
      const dbPass =
        /^DB_PASS=(.*)$/m.exec(uploads.find((u) => u.file === "/run/ems/secrets.env")?.content ?? "")?.[1] ?? "";
      const login = (password: string) =>
        run("docker", [
          "exec",
          "-e",
          `PGPASSWORD=${password}`,
          newPostgres,
          "psql",
          "-X",
          "-Atq",
          "-h",
          "127.0.0.1",
          "-U",
          `${svc}_user`,
          "-d",
          `${svc}_production`,
          "-c",
          "SELECT current_user",
        ]);
      expect(login(dbPass).stdout.trim()).toBe(`${svc}_user`);
      expect(login(`old-${svc}-password`).status).not.toBe(0);
    }
    // The uploads: same files, mounted into the new APIs from the same host folders.
    for (const svc of ["ems", "sms"]) {
      expect(folderHashes(vps.uploads[svc])).toEqual(uploadsBefore[svc]);
      const newApi = [...createdNew].find((n) => inspect(n).Config.Labels?.["com.ems.service"] === svc)!;
      expect(inspect(newApi).Mounts.find((m: { Destination: string }) => m.Destination === "/app/uploads").Source).toBe(
        vps.uploads[svc],
      );
    }
    // The certificates: untouched, and a byte copy with mode 600 in the backups folder.
    expect(fs.readFileSync(vps.acmeFile).equals(acmeBefore)).toBe(true);
    expect(fs.statSync(vps.acmeFile).mode & 0o777).toBe(0o600);
    const acmeCopy = result.backup.find((f) => f.endsWith(".json"))!;
    expect(fs.readFileSync(acmeCopy).equals(acmeBefore)).toBe(true);
    expect(fs.statSync(acmeCopy).mode & 0o777).toBe(0o600);
    expect(path.dirname(acmeCopy)).toBe(vps.backupDir);
  });

  test("the pg_dumpall taken first restores row-identical into an empty PostgreSQL with npm run restore's script", async () => {
    const dumps = fs
      .readdirSync(vps.backupDir)
      .filter((f) => /^cluster_\d{8}T\d{6}Z\.sql\.gz$/.test(f))
      .sort();
    expect(dumps.length).toBe(2); // one per attempt: the undone one and the cut-over
    expect(fs.statSync(path.join(vps.backupDir, dumps[1])).mode & 0o777).toBe(0o600);
    let pg: PgServer | undefined;
    try {
      pg = await startPostgres();
      const r = runScript("restore.sh", [path.join(vps.backupDir, dumps[1])], { env: pg.env, timeoutMs: 120_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(databaseSnapshot((sql, db) => pg!.psql(sql, db))).toEqual(before);
    } finally {
      pg?.stop();
    }
  });

  test("a second run finds nothing to migrate and changes nothing; the stack keeps serving", async () => {
    const log: string[] = [];
    const running = () => [...createdNew].filter((c) => state(c).Running).sort();
    const runningBefore = running();
    const result = await runCutover(deps(false, log), options());
    expect(result.outcome).toBe("nothing-to-migrate");
    expect(log.join("\n")).toContain(
      "nothing to migrate: no container of the old compose system is running (the stopped ones are kept for the undo",
    );
    expect(running()).toEqual(runningBefore);
    expect(state(vps.postgres).Running).toBe(false);
    expect(fs.readdirSync(vps.backupDir).filter((f) => f.startsWith("cluster_")).length).toBe(2);
  });
});

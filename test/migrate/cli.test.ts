/**
 * `npm run migrate`: its arguments, its refusals, and its wiring (stack config → pre-flight on this machine).
 */
import { execFileSync } from "child_process";
import { exitCode, migrate, safetyDumpDir, stackCredentials } from "../../ops/commands/migrate";
import { defaultHostShell } from "../../ops/runner/hostShell";
import { parseStackConfig } from "../../stacks/config";
import {
  committedConfig,
  describeWithDocker,
  fakeDeps as opsDeps,
  FakeStack,
  startFakeEngine,
  TEST_SECRETS,
} from "../support";
import { fakeIo } from "../support";

const [main, parseMigrateArgs] = [migrate.main, migrate.parse];

jest.setTimeout(120_000);

const SECRETS: Record<string, string> = { ...TEST_SECRETS, "ems-infra:dashboardPassword": "painel-Traefik-2026-senha" };

/** A stack whose config is the committed file plus the secrets, as `pulumi config --show-secrets` has it. */
function fakeDeps(stackFile: "prod" | "dev", overrides: Record<string, string> = {}) {
  const calls: string[] = [];
  const config = { ...committedConfig(stackFile), ...SECRETS, ...overrides };
  const stack = Object.assign(new FakeStack(stackFile, { config }), {
    getAllConfig: async () =>
      Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v, secret: k in SECRETS }])),
    up: async () => {
      calls.push("up");
      throw new Error("no up in this test");
    },
  });
  const deps = opsDeps(stack, { host: defaultHostShell });
  const openStack = deps.openStack;
  deps.openStack = async (name, workDir, create) => {
    calls.push(`open ${name}`);
    return openStack(name, workDir, create);
  };
  return { deps, calls };
}

describe("arguments", () => {
  test("--stack is required; the switches parse", () => {
    expect(() => parseMigrateArgs([])).toThrow("missing required flag --stack <name>");
    expect(parseMigrateArgs(["--stack", "prod", "--dry-run", "--adopt-credentials"])).toEqual({
      help: false,
      options: { stack: "prod", yes: false, dryRun: true, adoptCredentials: true, undo: false },
    });
    expect(parseMigrateArgs(["-s", "prod", "--undo", "-y"])).toEqual({
      help: false,
      options: { stack: "prod", yes: true, dryRun: false, adoptCredentials: false, undo: true },
    });
    expect(() => parseMigrateArgs(["--stack", "prod", "--dryrun"])).toThrow(
      "unknown flag --dryrun (did you mean --dry-run?)",
    );
  });

  test("--help names the old containers it replaces", async () => {
    const io = fakeIo();
    expect(await main(["--help"], io, fakeDeps("prod").deps)).toBe(0);
    expect(io.stdout).toContain("postgres_ems_system, traefik, portainer, ems_server_prod, sms_server_prod");
  });

  test("without a terminal it refuses unless --yes or --dry-run, before opening the stack", async () => {
    const { deps, calls } = fakeDeps("prod");
    const io = fakeIo({ tty: false });
    expect(await main(["--stack", "prod"], io, deps)).toBe(2);
    expect(calls).toEqual([]);
  });

  test("a development stack is refused: the compose system it replaces is the VPS's", async () => {
    const { deps, calls } = fakeDeps("dev");
    const io = fakeIo();
    expect(await main(["--stack", "dev", "--dry-run"], io, deps)).toBe(2);
    expect(io.stderr).toBe(
      "migrate: stack dev is not a production stack: the compose system it replaces is the VPS's\n",
    );
    expect(calls).not.toContain("up");
  });

  test("exit codes: done 0, refused or undone 1, an undo that needs a human 3", () => {
    expect(exitCode({ outcome: "migrated", downtimeSeconds: 3, backup: [] })).toBe(0);
    expect(exitCode({ outcome: "nothing-to-migrate" })).toBe(0);
    expect(exitCode({ outcome: "nothing-to-undo" })).toBe(0);
    expect(exitCode({ outcome: "rolled-back", reason: "x", restored: [] })).toBe(1);
    expect(exitCode({ outcome: "refused", problems: [] })).toBe(1);
    expect(exitCode({ outcome: "undo-failed", reason: "x", problems: [] })).toBe(3);
  });
});

describeWithDocker("the CLI's wiring on this machine", () => {
  test("a Traefik that pins Docker API 1.24 is checked against this engine from the stack's own config", async () => {
    const { deps, calls } = fakeDeps("prod", { "ems-infra:traefik": JSON.stringify({ image: "traefik:v3.3.5" }) });
    const io = fakeIo();
    const code = await main(["--stack", "prod", "--dry-run"], io, deps);
    const [api, version] = execFileSync(
      "docker",
      ["version", "--format", "{{.Server.APIVersion}} {{.Server.Version}}"],
      { encoding: "utf8" },
    )
      .trim()
      .split(" ");
    const engine = `Docker Engine ${version} (API ${api})`;
    if (Number(version.split(".")[0]) >= 29) {
      expect(io.stdout).toContain(
        `migrate: preflight: REFUSED: traefik:v3.3.5 (Traefik 3.3.5) pins Docker API 1.24, and ${engine} requires API 1.44 or later`,
      );
      expect(code).toBe(1);
    } else {
      expect(io.stdout).toContain(`migrate: preflight: traefik:v3.3.5 can talk to ${engine}\n`);
      expect(code).toBe(0);
    }
    expect(calls).not.toContain("up");
  });

  test("with no old container on this machine there is nothing to migrate, and pulumi up never runs", async () => {
    const { deps, calls } = fakeDeps("prod");
    const io = fakeIo();
    expect(await main(["--stack", "prod", "--yes"], io, deps)).toBe(0);
    expect(io.stdout).toContain(
      "migrate: preflight: old containers: traefik: absent, ems_server_prod: absent, sms_server_prod: absent, portainer: absent, postgres_ems_system: absent\n",
    );
    expect(io.stdout).toContain("migrate: nothing to migrate: no container of the old compose system is running\n");
    expect(calls).toEqual(["open prod"]);
  });
});

describe("the engine pre-flight (provider-facts §9), against a fake engine at ems-infra:docker.host", () => {
  test("an engine older than API 1.41 is refused before anything changes, naming the minimum", async () => {
    const engine = await startFakeEngine({ apiVersion: "1.40", version: "19.03.15", swapLimit: true });
    try {
      const docker = JSON.stringify({ host: engine.endpoint });
      const { deps, calls } = fakeDeps("prod", { "ems-infra:docker": docker });
      const io = fakeIo();
      expect(await main(["--stack", "prod", "--yes"], io, deps)).toBe(1);
      expect(io.stderr).toBe(
        "migrate: pre-flight: REFUSED: Docker Engine 19.03.15 speaks API 1.40; the program needs API 1.41 " +
          "(Docker 20.10) or later: upgrade Docker on the host; nothing was changed\n",
      );
      expect(calls).toEqual(["open prod"]);
    } finally {
      await engine.close();
    }
  });

  test("API 1.41 without swap accounting: both adaptations said before the cut-over's own pre-flight", async () => {
    const engine = await startFakeEngine({ apiVersion: "1.41", version: "20.10.24", swapLimit: false });
    try {
      const { deps } = fakeDeps("prod", { "ems-infra:docker": JSON.stringify({ host: engine.endpoint }) });
      const io = fakeIo();
      await main(["--stack", "prod", "--dry-run"], io, deps);
      expect(io.stdout).toContain("migrate: pre-flight: Docker Engine 20.10.24 (API 1.41) is older than API 1.44");
      expect(io.stdout).toContain("the containers are registered with memorySwap -1");
    } finally {
      await engine.close();
    }
  });
});

describe("what the cut-over compares and where it writes", () => {
  const prod = (extra: Record<string, string> = {}) =>
    parseStackConfig(
      "prod",
      { ...committedConfig("prod"), ...TEST_SECRETS, ...extra },
      new Set([...Object.keys(TEST_SECRETS), ...Object.keys(extra)]),
    );

  test("the stack's credentials come from its config: the VPS's database and role names, secrets when set", () => {
    const secrets = {
      "ems-infra:serviceSecrets": JSON.stringify({
        ems: { apiKey: "todays-ems-api-key", jwtKey: "todays-ems-jwt-key-0123456789", dbPassword: "todays-db-pass-01" },
      }),
    };
    expect(stackCredentials(prod(secrets))).toEqual({
      postgresUser: "postgres",
      postgresPassword: undefined,
      services: [
        {
          name: "ems",
          database: "ems_production",
          role: "ems_user",
          dbPassword: "todays-db-pass-01",
          apiKey: "todays-ems-api-key",
          jwtKey: "todays-ems-jwt-key-0123456789",
        },
        {
          name: "sms",
          database: "sms_production",
          role: "sms_user",
          dbPassword: undefined,
          apiKey: undefined,
          jwtKey: undefined,
        },
      ],
    });
  });

  test("the safety dump goes beside the old backup job's folder, where its *.sql.gz retention never reaches", () => {
    expect(safetyDumpDir(prod().paths)).toBe("/root/ems_system/data/cutover");
    expect(prod().paths.backups).toBe("/root/ems_system/data/backups");
  });
});

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { exec as execCommand } from "../../ops/commands/exec";
import { logs as logsCommand } from "../../ops/commands/logs";
import { rotate as rotateCommand } from "../../ops/commands/rotate";
import { status as statusCommand } from "../../ops/commands/status";
import { reportUnhealthy } from "../../ops/containers";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, prodOutputs, stateFixture } from "../support";

const [exec, logs, rotate, status] = [execCommand, logsCommand, rotateCommand, statusCommand].map((c) => c.main);

const INSPECT = fs.readFileSync(path.join(__dirname, "..", "fixtures", "docker-inspect-prod.json"), "utf8");
const HISTORY = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "history-prod.json"), "utf8"));
const OUTPUTS = prodOutputs();

function prodHost(inspect = INSPECT): FakeHost {
  return new FakeHost((command) => {
    if (command.includes("xargs -r docker inspect")) return { stdout: inspect };
    if (command.includes("*.dump"))
      return { stdout: "ems_production_20250314T030000Z.dump\t13002342\t2025-03-14 03:00 UTC\n" };
    return {};
  });
}

/** Deployed from a laptop: `ems-infra:ssh` names the VPS (the key and known_hosts from ~/.ssh, the program's defaults). */
const prodStack = () =>
  new FakeStack("prod", {
    config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "vps.edumigsoft.com.br" }) },
    outputs: OUTPUTS,
    history: HISTORY,
  });

describe("npm run status", () => {
  it("lists each container with version, digest, health, uptime, restarts and URL; exits 1 when one is unhealthy", async () => {
    const io = fakeIo();
    const code = await status(
      ["--stack", "prod"],
      io,
      fakeDeps(prodStack(), { host: prodHost(), now: new Date("2025-03-14T20:02:31.2Z") }),
    );
    expect(code).toBe(1);
    const table = io.stdout.split("\n");
    expect(table.find((l) => l.startsWith("ems       ems-container-1b2c3d4"))).toMatch(
      /1\.4\.2\s+sha256:44449c0ffee0\s+healthy\s+4d 11h\s+0\s+https:\/\/api\.ems\.edumigsoft\.com\.br$/,
    );
    expect(table.find((l) => l.includes("ems-container-7c1e9a2"))).toMatch(
      /1\.5\.0\s+sha256:55559c0ffee0\s+unhealthy\s+2h 0m/,
    );
    expect(table.find((l) => l.startsWith("traefik"))).toMatch(
      /infra_traefik\s+v3\.6\.1\s+sha256:d00d2222eeee\s+exited \(exit 1\)\s+-\s+5\s+-$/,
    );
    expect(io.stdout).toContain(
      'last deploy: #9 update "deploy ems 1.5.0" succeeded, 2025-03-14 18:02 UTC, by root (git: Eduardo)\n',
    );
    expect(io.stdout).toContain(
      "newest dump: /root/ems_system/data/backups/ems_production_20250314T030000Z.dump (12.4 MiB, 2025-03-14 03:00 UTC)\n",
    );
    // A production stack without the off-site copy (none in these outputs) is warned about.
    expect(io.stdout).toContain("off-site backup: off\n");
    expect(io.stderr).toBe(
      `warning: stack prod has no off-site backup: one lost disk or VPS loses every upload and database. Set it up: pulumi config set --secret ems-infra:backupOffsite '{"repository":"…","password":"…"}' --stack prod (README, "Off-site backups")\n` +
        "unhealthy: ems-container-7c1e9a2, infra_traefik (npm run logs -- --stack prod --service <service>)\n",
    );
  });

  it("exits 0 when every container runs healthy, and reports a named container that is missing", async () => {
    const healthy = (JSON.parse(INSPECT) as Array<{ Name: string }>).filter(
      (c) => !["/ems-container-7c1e9a2", "/infra_traefik"].includes(c.Name),
    );
    const io = fakeIo();
    expect(await status(["-s", "prod"], io, fakeDeps(prodStack(), { host: prodHost(JSON.stringify(healthy)) }))).toBe(
      1,
    );
    expect(io.stdout).toMatch(/traefik\s+\(missing\)/);
    const noTraefik = new FakeStack("prod", {
      config: PROD_CONFIG,
      outputs: { ...OUTPUTS, containers: { postgres: "ems_system-postgres" } },
      history: HISTORY,
    });
    const ok = fakeIo();
    expect(await status(["-s", "prod"], ok, fakeDeps(noTraefik, { host: prodHost(JSON.stringify(healthy)) }))).toBe(0);
    expect(ok.stdout).toContain("all containers healthy\n");
  });
});

/**
 * The 1.5.0 EMS container crash-looping (its login refused, restart policy unless-stopped), as docker inspect shows it
 * in each phase: between two runs (restarting, `.State.ExitCode` the crash's), or caught while Docker runs it again
 * (running, health starting, `.State.ExitCode` 0: the failure is only in the engine's `die` events).
 */
function crashLooping(phase: "restarting" | "running"): string {
  const all = JSON.parse(INSPECT) as { Name: string; RestartCount: number; State: Record<string, unknown> }[];
  const ems = all.find((c) => c.Name === "/ems-container-7c1e9a2")!;
  ems.RestartCount = 6;
  ems.State =
    phase === "running"
      ? { Status: "running", ExitCode: 0, StartedAt: "2025-03-14T20:02:30.9Z", Health: { Status: "starting" } }
      : { Status: "restarting", ExitCode: 1, StartedAt: "2025-03-14T20:02:30.9Z", Health: { Status: "unhealthy" } };
  return JSON.stringify(all);
}

function crashLoopHost(phase: "restarting" | "running"): FakeHost {
  return new FakeHost((command) => {
    if (command.includes("xargs -r docker inspect")) return { stdout: crashLooping(phase) };
    if (command.startsWith("docker events ")) return { stdout: "1\n" };
    return {};
  });
}

describe("a crash-looping API in status and the failed-deploy report", () => {
  const selector = { system: "ems_system", environment: "production" };

  it.each(["running", "restarting"] as const)(
    "caught %s, it is named a crash loop with its restarts and last non-zero exit code, never 'exit code 0'",
    async (phase) => {
      const host = crashLoopHost(phase);
      const io = fakeIo();
      const deps = fakeDeps(prodStack(), { host, now: new Date("2025-03-14T20:02:31.2Z") });
      expect(await status(["--stack", "prod"], io, deps)).toBe(1);
      const health = phase === "running" ? "starting" : "unhealthy";
      expect(io.stdout.split("\n").find((l) => l.includes("ems-container-7c1e9a2"))).toMatch(
        new RegExp(
          `sha256:55559c0ffee0\\s+${phase === "running" ? "starting" : "restarting"} \\(crash loop, last exit 1\\)\\s+\\S+\\s+6\\s`,
        ),
      );
      expect(io.stderr).toContain("ems-container-7c1e9a2");

      const report = await reportUnhealthy(host, "local", selector, {});
      expect(report).toContain(
        `--- ems-container-7c1e9a2 (ems): ${phase}, ${health}, crash loop (restarts 6, last exit code 1); last 20 log lines:\n`,
      );
      expect(report).not.toContain("exit code 0");
      // Only a container running again needs the engine's events; they are read from its creation on.
      const events = host.commands.filter((c) => c.command.startsWith("docker events "));
      expect(events.length > 0).toBe(phase === "running");
      if (phase === "running")
        expect(events[0].command).toBe(
          `docker events --since 2025-03-14T18:02:30.1Z --until "$(($(date +%s) + 1))" --filter container=b7e2d4c100000000000000000000000000000000000000000000000000000000 --filter event=die --format '{{.Actor.Attributes.exitCode}}' | tail -n 1`,
        );
    },
  );

  it("when the engine no longer holds the crash's event, the report says the last exit code is unknown", async () => {
    const host = new FakeHost((command) =>
      command.includes("xargs -r docker inspect") ? { stdout: crashLooping("running") } : {},
    );
    const report = await reportUnhealthy(host, "local", selector, {});
    expect(report).toContain(
      "--- ems-container-7c1e9a2 (ems): running, starting, crash loop (restarts 6, last exit code unknown); last 20 log lines:\n",
    );
  });
});

describe("npm run logs", () => {
  it("streams the current container's logs over SSH, whatever its generated name", async () => {
    const host = prodHost();
    const io = fakeIo();
    expect(
      await logs(
        ["--stack", "prod", "--service", "ems", "--follow", "--lines", "50", "--since", "10m"],
        io,
        fakeDeps(prodStack(), { host }),
      ),
    ).toBe(0);
    const streamed = host.commands.filter((c) => c.mode === "run");
    // The newest running ems container is the one the deploy just created.
    expect(streamed).toEqual([
      {
        mode: "run",
        commandHost: "root@vps.edumigsoft.com.br:22",
        command: `docker logs --follow --tail 50 --since 10m b7e2d4c1${"0".repeat(56)}`,
        tty: false,
      },
    ]);
    expect(io.stdout).toContain("logs of ems-container-7c1e9a2 (ems, running):\n");
  });

  it("finds traefik by the containers output and says which services exist for an unknown one", async () => {
    const host = prodHost();
    expect(await logs(["-s", "prod", "--service", "traefik"], fakeIo(), fakeDeps(prodStack(), { host }))).toBe(0);
    expect(host.commands.at(-1)?.command).toBe(`docker logs --tail 100 e1e2e3e4${"0".repeat(56)}`);
    const io = fakeIo();
    expect(await logs(["-s", "prod", "--service", "crm"], io, fakeDeps(prodStack(), { host: prodHost() }))).toBe(1);
    expect(io.stderr).toBe(
      'error: stack prod has no container for service "crm" on its host (services found: ems, postgres, sms, traefik)\n',
    );
  });

  it("refuses a malformed --since and turns days into hours for docker", async () => {
    const io = fakeIo();
    expect(await logs(["-s", "prod", "--service", "ems", "--since", "yesterday"], io, fakeDeps(prodStack()))).toBe(2);
    expect(io.stderr).toContain('--since "yesterday" is not a duration (10m, 2h, 1d) nor a date (2025-03-14T18:00)');
  });
});

describe("npm run exec", () => {
  it("runs psql as the service's role in its database, with a terminal over SSH", async () => {
    const host = prodHost();
    const io = fakeIo({ tty: true });
    expect(
      await exec(["--stack", "prod", "--service", "postgres", "--as", "ems"], io, fakeDeps(prodStack(), { host })),
    ).toBe(0);
    expect(host.commands.at(-1)).toEqual({
      mode: "run",
      commandHost: "root@vps.edumigsoft.com.br:22",
      command: `docker exec -it 9f1c0a7e${"0".repeat(56)} psql -U ems_user -d ems_production`,
      tty: true,
    });
    // Over the program's ssh: the host key is checked against the same known_hosts the deploy uses.
    expect(host.targets.at(-1)).toEqual({
      host: "vps.edumigsoft.com.br",
      user: "root",
      port: 22,
      knownHostsFile: path.join(os.homedir(), ".ssh/known_hosts"),
    });
  });

  it("defaults to the superuser, and passes a command after --, quoted", async () => {
    const host = prodHost();
    expect(
      await exec(
        ["-s", "prod", "--service", "postgres", "--", "psql", "-c", "select count(*) from users"],
        fakeIo(),
        fakeDeps(prodStack(), { host }),
      ),
    ).toBe(0);
    expect(host.commands.at(-1)?.command).toBe(
      `docker exec -i 9f1c0a7e${"0".repeat(56)} psql -U postgres -d postgres -c 'select count(*) from users'`,
    );
  });

  it("says the API images have no shell", async () => {
    const host = prodHost();
    const io = fakeIo();
    expect(await exec(["-s", "prod", "--service", "ems", "--", "sh"], io, fakeDeps(prodStack(), { host }))).toBe(1);
    expect(io.stderr).toContain(
      "error: the ems image is FROM scratch: no shell and no tools to exec; use `npm run logs -- --stack prod --service ems`",
    );
    expect(host.commands.filter((c) => c.mode === "run")).toEqual([]);
  });
});

describe("npm run rotate", () => {
  it("replaces a generated secret's RandomPassword, previewing with the replace", async () => {
    const urn =
      "urn:pulumi:prod::ems-infra::ems:infra:Credentials$random:index/randomPassword:RandomPassword::credentials-ems-api-key";
    const state = stateFixture("state-healthy.json");
    (state.deployment.resources as unknown[]).push({
      urn,
      type: "random:index/randomPassword:RandomPassword",
      custom: true,
    });
    const stack = new FakeStack("prod", { config: PROD_CONFIG, state, previewChanges: { replace: 2, same: 14 } });
    const io = fakeIo({ tty: true, answers: ["y"] });
    expect(await rotate(["--stack", "prod", "--secret", "ems.apiKey"], io, fakeDeps(stack))).toBe(0);
    expect(stack.previewOptions?.replace).toEqual([urn]);
    expect(stack.upOptions).toMatchObject({ replace: [urn], message: "rotate ems.apiKey" });
    expect(io.stdout).toContain(
      "effect: every client that sends the old ems API key is refused until it gets the new one; the ems API restarts\n",
    );
    expect(io.questions).toEqual(["Rotate ems.apiKey on stack prod? [y/N] "]);
  });

  it("gives a secret set in config a new random value, and puts the old one back on no", async () => {
    const config = { ...PROD_CONFIG, "ems-infra:postgresPassword": "old-password-value-0123456789ab" };
    const stack = new FakeStack("prod", { config, previewChanges: { update: 1, replace: 2 } });
    const io = fakeIo({ tty: true, answers: ["n"] });
    expect(await rotate(["-s", "prod", "--secret", "postgresPassword"], io, fakeDeps(stack))).toBe(1);
    const set = stack.changes.find((c) => c.startsWith("setConfig ems-infra:postgresPassword="));
    expect(set).toMatch(/^setConfig ems-infra:postgresPassword=[A-Za-z0-9]{32}$/);
    expect(stack.config["ems-infra:postgresPassword"]).toBe("old-password-value-0123456789ab");
    expect(io.stdout).toContain("set ems-infra:postgresPassword: a new secret value\n");
    expect(io.stdout + io.stderr).not.toContain("old-password-value");
    expect(io.stderr).toBe("aborted: nothing deployed; ems-infra:postgresPassword is back to its previous value\n");
  });

  it("refuses an unknown secret name, and one the stack does not have", async () => {
    const io = fakeIo();
    expect(await rotate(["-s", "prod", "--secret", "ems.password", "-y"], io, fakeDeps(new FakeStack("prod")))).toBe(2);
    const missing = fakeIo();
    expect(
      await rotate(
        ["-s", "prod", "--secret", "crm.jwtKey", "-y"],
        missing,
        fakeDeps(new FakeStack("prod", { state: stateFixture("state-healthy.json") })),
      ),
    ).toBe(1);
    expect(missing.stderr).toContain(
      "stack prod has no crm.jwtKey: neither ems-infra:serviceSecrets.crm.jwtKey in config nor a generator credentials-crm-jwt-key",
    );
  });
});

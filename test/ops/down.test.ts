/**
 * `npm run down` against a fake stack whose state holds what the dev program registers (run under the mocks): which
 * resources each mode removes, the cron line removed on the host (the command run for real against a stub crontab),
 * the data kept unless --purge, production refused with what would be lost.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Deployment, DestroyOptions, DestroyResult } from "@pulumi/pulumi/automation";
import { down } from "../../ops/commands/down";
import { DownStack } from "../../ops/down";
import { removeCronLineCommand } from "../../ops/hostCommands/cron";
import { REPO_ROOT } from "../../ops/runner/context";
import {
  committedConfig,
  fakeDeps,
  FakeHost,
  fakeIo,
  FakeStack,
  FakeStackOptions,
  runStack,
  T,
  TEST_SECRETS,
} from "../support";

const main = down.main;

/** A FakeStack that also records `destroy`. */
class FakeDownStack extends FakeStack implements DownStack {
  destroyed?: DestroyOptions;
  destroyError?: Error;
  async destroy(opts?: DestroyOptions): Promise<DestroyResult> {
    this.calls.push(`destroy ${opts?.target?.length ?? "all"}`);
    this.destroyed = opts;
    if (this.destroyError) throw this.destroyError;
    return { stdout: "", stderr: "", summary: {} as DestroyResult["summary"] };
  }
}

let devState: Deployment;
let prodState: Deployment;
let project: string;

/** The state a deploy of `stack` leaves: every resource the program registers, by type and name. */
async function stateOf(stack: "dev" | "prod"): Promise<Deployment> {
  const secrets = stack === "prod" ? { ...TEST_SECRETS, "ems-infra:dashboardPassword": "dashboard-Password-0" } : {};
  const run = await runStack(stack, { ...committedConfig(stack), ...secrets }, Object.keys(secrets));
  const resources = [
    { urn: `urn:pulumi:${stack}::ems-infra::pulumi:pulumi:Stack::ems-infra-${stack}`, type: "pulumi:pulumi:Stack" },
    { urn: `urn:pulumi:${stack}::ems-infra::pulumi:providers:docker::default`, type: "pulumi:providers:docker" },
    ...run.resources.map((r) => ({
      urn: `urn:pulumi:${stack}::ems-infra::${r.type}::${r.name}`,
      type: r.type,
      ...(r.opts.protect ? { protect: true } : {}),
      // The engine keeps each resource's outputs; a volume's `name` is the Docker volume's.
      outputs: r.type === T.volume ? { name: r.inputs.name } : {},
    })),
  ];
  return { version: 3, deployment: { manifest: {}, resources } };
}

beforeAll(async () => {
  devState = await stateOf("dev");
  prodState = await stateOf("prod");
}, 60_000);

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), "down-"));
  fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), path.join(project, "Pulumi.dev.yaml"));
});
afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

function devStack(extra: Partial<FakeStackOptions> = {}): FakeDownStack {
  return new FakeDownStack("dev", {
    config: { "ems-infra:environment": "development", "ems-infra:system": "ems_system" },
    state: devState,
    outputs: { hostExpectations: { folders: [], cron: { job: "ems_system-backup", line: "…" } } },
    ...extra,
  });
}

/** The fake deps with the project folder as the repository (its Pulumi.dev.yaml, a local folder backend). */
function depsFor(stack: FakeStack, host = new FakeHost()) {
  const deps = fakeDeps(stack, { host });
  const readFile = (p: string) => deps.readFile(p === path.join(project, "Pulumi.yaml") ? "/repo/Pulumi.yaml" : p);
  return { ...deps, repoRoot: project, readFile };
}

const names = (urns: readonly string[] | undefined) => (urns ?? []).map((u) => u.slice(u.lastIndexOf("::") + 2)).sort();
const CRON_REMOVAL = removeCronLineCommand("ems_system-backup");

describe("npm run down -- --stack dev", () => {
  test("stops: removes the containers and the backup schedule, keeps volumes and folders, removes the cron line", async () => {
    const stack = devStack();
    const host = new FakeHost();
    const io = fakeIo();
    expect(await main(["--stack", "dev", "--yes"], io, depsFor(stack, host))).toBe(0);
    expect(names(stack.destroyed?.target)).toEqual([
      "backup-schedule",
      "ems",
      "portainer",
      "postgres",
      "sms",
      "socket-proxy",
      "traefik",
    ]);
    expect(stack.destroyed?.targetDependents).toBe(true);
    expect(host.commands.map((c) => c.command)).toEqual([CRON_REMOVAL]);
    expect(io.stdout).toContain(
      "kept: the volumes ems_system_pgdata_17, infra_portainer_data_dev and the data folders\n",
    );
    expect(io.stdout).toContain(
      "stack dev stopped: ports 80/443 are free; npm run deploy -- --stack dev starts it again (same data)\n",
    );
    expect(io.stderr).toBe("");
  });

  test("--destroy removes every resource but the volumes (kept in the stack and on disk); no folder is deleted", async () => {
    const stack = devStack();
    const host = new FakeHost();
    const io = fakeIo();
    expect(await main(["--stack", "dev", "--destroy", "-y"], io, depsFor(stack, host))).toBe(0);
    const removed = stack.destroyed?.target ?? [];
    const typeOf = (urn: string) => urn.split("::")[2];
    expect(removed.filter((u) => typeOf(u) === T.volume)).toEqual([]);
    for (const type of [T.container, T.network, T.image, T.localCommand, T.randomPassword])
      expect(removed.some((u) => typeOf(u) === type)).toBe(true);
    expect(removed.some((u) => /pulumi:(pulumi:Stack|providers:)/.test(u))).toBe(false);
    expect(host.commands.map((c) => c.command)).toEqual([CRON_REMOVAL]);
    expect(io.stdout).toContain(
      "stack dev destroyed (kept: ems_system_pgdata_17, infra_portainer_data_dev and the data folders); npm run deploy -- --stack dev builds it again\n",
    );
  });

  test("--destroy --purge deletes the volumes and the data folders, the developer's own ones included", async () => {
    fs.writeFileSync(
      path.join(project, "Pulumi.dev.local.yaml"),
      "config:\n  ems-infra:tls:\n    certsDir: /srv/ana/certs\n",
    );
    const stack = devStack();
    const host = new FakeHost();
    const io = fakeIo({ tty: true, answers: ["y"] });
    expect(await main(["--stack", "dev", "--destroy", "--purge"], io, depsFor(stack, host))).toBe(0);
    expect(io.questions).toEqual(["Destroy and purge stack dev? [y/N] "]);
    expect(names(stack.destroyed?.target).filter((n) => ["postgres-data", "portainer-data"].includes(n))).toEqual([
      "portainer-data",
      "postgres-data",
    ]);
    expect(host.commands.map((c) => c.command)).toEqual([
      CRON_REMOVAL,
      `rm -rf -- ${project}/.dev-data /srv/ana/certs`,
    ]);
    expect(io.stdout).toContain(
      `DELETED for good: the volumes ems_system_pgdata_17, infra_portainer_data_dev and the folders ${project}/.dev-data, /srv/ana/certs\n`,
    );
  });

  test("asks first; a no (exit 1), or no terminal without --yes (exit 2, the runner's refusal), changes nothing", async () => {
    for (const [io, code] of [
      [fakeIo({ tty: true, answers: ["n"] }), 1],
      [fakeIo({ tty: false }), 2],
    ] as const) {
      const stack = devStack();
      const host = new FakeHost();
      expect(await main(["--stack", "dev"], io, depsFor(stack, host))).toBe(code);
      expect(stack.calls.filter((c) => c.startsWith("destroy"))).toEqual([]);
      expect(host.commands).toEqual([]);
    }
  });

  test("--purge alone is a usage error", async () => {
    const io = fakeIo();
    expect(await main(["--stack", "dev", "--purge"], io, depsFor(devStack()))).toBe(2);
    expect(io.stderr).toMatch(/^error: --purge goes with --destroy/);
  });

  test("a failed destroy leaves the cron line (backups go on for what still runs) and says why in one line", async () => {
    const stack = devStack();
    stack.destroyError = new Error("docker: container ems is in use");
    const host = new FakeHost();
    const io = fakeIo();
    expect(await main(["--stack", "dev", "--yes"], io, depsFor(stack, host))).toBe(1);
    expect(host.commands).toEqual([]);
    expect(io.stderr).toBe("error: docker: container ems is in use\n");
  });
});

describe("npm run down on a production stack", () => {
  const prodStack = () =>
    new FakeDownStack("prod", {
      config: { "ems-infra:environment": "production" },
      state: prodState,
      outputs: { urls: { ems: "https://api.ems.edumigsoft.com.br", sms: "https://api.sms.edumigsoft.com.br" } },
    });

  test("is refused without --production, saying what would be lost; nothing is touched", async () => {
    const stack = prodStack();
    const host = new FakeHost();
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod", "--destroy", "--purge", "--yes"], io, depsFor(stack, host))).toBe(1);
    expect(io.stderr).toBe(
      [
        "error: refusing to destroy and purge stack prod: it is a production stack. This would lose:",
        "  - https://api.ems.edumigsoft.com.br, https://api.sms.edumigsoft.com.br go offline until the next deploy",
        "  - the backup job stops (no new dumps)",
        "  - the networks, images and Traefik routes are removed (its protected resources make the destroy stop half-way)",
        "  - every database (the Postgres volume), Portainer's data, every upload, log and backup in the data folders: unrecoverable without an off-site copy",
        "If that is really what you want, re-run with --production.",
        "",
      ].join("\n"),
    );
    expect(stack.calls.filter((c) => c.startsWith("destroy"))).toEqual([]);
    expect(host.commands).toEqual([]);
  });

  test("with --production it stops like dev", async () => {
    const stack = prodStack();
    const io = fakeIo();
    expect(await main(["--stack", "prod", "--production", "--yes"], io, depsFor(stack))).toBe(0);
    expect(names(stack.destroyed?.target)).toEqual([
      "backup-schedule",
      "ems",
      "portainer",
      "postgres",
      "sms",
      "socket-proxy",
      "traefik",
    ]);
  });
});

describe("the cron removal, run for real against a stub crontab", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "down-cron-"));
    // crontab -l prints the table (exit 1 and a message when there is none); crontab - replaces it from stdin.
    fs.writeFileSync(
      path.join(dir, "crontab"),
      `#!/bin/sh\ncase "$1" in\n  -l) [ -f "${dir}/table" ] || { echo "no crontab for ana" >&2; exit 1; }; cat "${dir}/table" ;;\n  -) cat > "${dir}/table" ;;\n  *) exit 99 ;;\nesac\n`,
      { mode: 0o755 },
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = () => spawnSync("sh", ["-c", CRON_REMOVAL], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });

  test("removes only this job's line", () => {
    const mine =
      "0 3 * * * sh '/x/bin/backup.sh' ems_system-postgres postgres >> '/x/logs/backup.log' 2>&1 # ems-infra:ems_system-backup";
    const theirs = "*/5 * * * * /home/ana/bin/sync # ems-infra:ems_system-backup-2";
    fs.writeFileSync(path.join(dir, "table"), `MAILTO=ana\n${mine}\n${theirs}\n`);
    expect(run().status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "table"), "utf8")).toBe(`MAILTO=ana\n${theirs}\n`);
  });

  test("no crontab, or none of ours: nothing is written", () => {
    expect(run().status).toBe(0);
    expect(fs.existsSync(path.join(dir, "table"))).toBe(false);
    fs.writeFileSync(path.join(dir, "table"), "MAILTO=ana\n");
    const before = fs.statSync(path.join(dir, "table")).mtimeMs;
    expect(run().status).toBe(0);
    expect(fs.statSync(path.join(dir, "table")).mtimeMs).toBe(before);
  });
});

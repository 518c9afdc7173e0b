/**
 * What every ops command shares, owned by the runner (ops/runner/defineCommand.ts) and tested once here instead of
 * once per command: the shared flags, the target banner, the terminal/--yes refusal and its one exit code, the
 * missing Pulumi CLI, one-line errors (also for errors nobody awaited), and how to pass flags through npm.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { COMMANDS } from "../../ops/commands";
import { defineCommand, EXIT, npmHint } from "../../ops/runner/defineCommand";
import { diagram, fakeDeps, fakeIo, FakeStack, PROD_CONFIG } from "../support";

const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

/** A command that changes something (it confirms) and records what it was run with. */
function probe(options: { changes?: (o: { "dry-run": boolean }) => boolean; fail?: Error } = {}) {
  const runs: Array<{ options: unknown; stack: string }> = [];
  const command = defineCommand({
    name: "probe",
    summary: "A command for the runner's tests.",
    stack: { mode: "select", description: "Stack, e.g. prod" },
    confirms: true,
    changes: options.changes,
    flags: { "dry-run": { type: "boolean", description: "Change nothing" } },
    async run(parsed, { stack, io }) {
      if (options.fail) throw options.fail;
      runs.push({ options: parsed, stack: stack.name });
      io.out("probe ran\n");
      return EXIT.ok;
    },
  });
  return { command, runs };
}

const prod = () =>
  new FakeStack("prod", { config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "203.0.113.7" }) } });

describe("the shared flags", () => {
  it("--stack/-s and --yes/-y are every command's; -h prints the help and opens nothing", async () => {
    const { command, runs } = probe();
    expect(await command.main(["-s", "prod", "-y"], fakeIo(), fakeDeps(prod()))).toBe(0);
    expect(await command.main(["--stack", "prod", "--yes", "--dry-run"], fakeIo(), fakeDeps(prod()))).toBe(0);
    expect(runs).toEqual([
      { options: { stack: "prod", yes: true, "dry-run": false, rest: [] }, stack: "prod" },
      { options: { stack: "prod", yes: true, "dry-run": true, rest: [] }, stack: "prod" },
    ]);
    const help = fakeIo();
    const deps = fakeDeps(new Error("must not be opened"));
    expect(await command.main(["-h"], help, deps)).toBe(0);
    expect(help.stdout).toBe(
      [
        "Usage: npm run probe -- --stack <name> [--dry-run] [--yes]",
        "",
        "A command for the runner's tests.",
        "",
        "Flags:",
        "  -s, --stack <name>  Stack, e.g. prod (required)",
        "  --dry-run           Change nothing",
        "  -y, --yes           Do not ask for confirmation (required when not run from a terminal)",
        "  -h, --help          Show this help and exit",
        "",
      ].join("\n"),
    );
    expect(deps.opened).toEqual([]);
    const bad = fakeIo();
    expect(await command.main(["-s", "prod", "--dryrun"], bad, deps)).toBe(EXIT.usage);
    expect(bad.stderr).toBe(
      "error: unknown flag --dryrun (did you mean --dry-run?); valid flags: --stack, --dry-run, --yes, --help\n" +
        "Run `npm run probe -- --help` for usage.\n",
    );
  });

  it("every command is built with the runner, is its npm script's entry point, and takes -s", () => {
    const files = fs
      .readdirSync(path.join(ROOT, "ops", "commands"))
      .filter((f) => f !== "index.ts")
      .map((f) => f.replace(/\.ts$/, ""));
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(files.sort());
    const scripts = (
      JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    // npm run diagram is a development tool (the program under the mock runtime): it lives with the test tooling.
    const entries = [
      ...COMMANDS.map((c) => ({ command: c, file: `ops/commands/${c.name}.ts` })),
      { command: diagram, file: "testkit/diagram/command.ts" },
    ];
    for (const { command, file } of entries) {
      expect(scripts[command.name]).toBe(`tsx ${file}`);
      const source = fs.readFileSync(path.join(ROOT, file), "utf8");
      // A dashed script name (switch-platform) is its camelCase constant in the file.
      const constant = command.name.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
      expect(source).toMatch(new RegExp(`\\nrunMain\\(module, ${constant}\\);\\n$`));
      if (command.spec.flags.stack) expect(command.spec.flags.stack).toMatchObject({ short: "s", required: true });
      if (command.spec.flags.yes) expect(command.spec.flags.yes).toMatchObject({ short: "y", type: "boolean" });
    }
  });
});

describe("the target banner", () => {
  it("says the stack, the backend and the Docker host before the command runs", async () => {
    const { command } = probe();
    const io = fakeIo();
    const env = { PULUMI_BACKEND_URL: "s3://ems-state" };
    expect(await command.main(["-s", "prod", "-y"], io, fakeDeps(prod(), { env }))).toBe(0);
    expect(io.stdout).toBe(
      "stack:       prod\nbackend:     s3://ems-state\ndocker host: ssh://root@203.0.113.7:22\nprobe ran\n",
    );
  });
});

describe("the terminal/--yes rule", () => {
  it(`refuses a changing command without a terminal and without --yes with exit ${EXIT.refused}, before opening the stack`, async () => {
    const { command, runs } = probe();
    const io = fakeIo({ tty: false });
    const deps = fakeDeps(prod());
    expect(await command.main(["-s", "prod"], io, deps)).toBe(EXIT.refused);
    expect(io.stderr).toBe(
      "error: refusing to probe stack prod without confirmation: this is not a terminal; re-run with --yes to probe unattended\n",
    );
    expect(deps.opened).toEqual([]);
    expect(runs).toEqual([]);
    // An invocation that changes nothing (a dry run) needs no terminal.
    const dry = probe({ changes: (o) => !o["dry-run"] });
    expect(await dry.command.main(["-s", "prod", "--dry-run"], fakeIo({ tty: false }), fakeDeps(prod()))).toBe(0);
  });

  it("is the same refusal for every command that asks", async () => {
    const asking = COMMANDS.filter((c) => c.spec.flags.yes);
    expect(asking.map((c) => c.name).sort()).toEqual([
      "deploy",
      "down",
      "migrate",
      "restore",
      "rollback",
      "rotate",
      "switch-platform",
    ]);
    const required: Record<string, string[]> = {
      deploy: [],
      down: [],
      migrate: [],
      restore: ["--file", "ems_20261129T030000Z.dump"],
      rollback: [],
      rotate: ["--secret", "ems.apiKey"],
      "switch-platform": [],
    };
    for (const command of asking) {
      const io = fakeIo({ tty: false });
      const deps = fakeDeps(prod());
      expect(await command.main(["-s", "prod", ...required[command.name]], io, deps)).toBe(EXIT.refused);
      expect(io.stderr).toMatch(new RegExp(`^error: refusing to ${command.name} stack prod without confirmation: `));
      expect(deps.opened).toEqual([]);
    }
  });
});

describe("the missing Pulumi CLI", () => {
  it(`is said before anything else, exit ${EXIT.missingCli}; a command without a stack does not need it`, async () => {
    const { command, runs } = probe();
    const io = fakeIo();
    const deps = fakeDeps(prod(), { onPath: [] });
    expect(await command.main(["-s", "prod", "-y"], io, deps)).toBe(EXIT.missingCli);
    expect(io.stderr).toBe(
      "error: the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/), then re-run this command\n",
    );
    expect(io.stdout).toBe("");
    expect(deps.opened).toEqual([]);
    expect(runs).toEqual([]);
  });
});

describe("one-line errors", () => {
  it("an error the command throws is one line on stderr, exit 1, no stack trace", async () => {
    const { command } = probe({ fail: new TypeError("cannot read the engine's answer") });
    const io = fakeIo();
    expect(await command.main(["-s", "prod", "-y"], io, fakeDeps(prod()))).toBe(EXIT.failed);
    expect(io.stderr).toBe("error: cannot read the engine's answer\n");
  });

  it("an error nobody awaited, in a real process, is one line too", () => {
    const result = spawnSync(TSX, [path.join(ROOT, "test", "fixtures", "ops", "crashing-command.ts")], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.stderr).toBe("error: the engine went away\n");
    expect(result.status).toBe(EXIT.failed);
  });
});

describe("flags through npm", () => {
  it("says to put -- before the flags when npm kept them (`npm run status --stack dev`)", async () => {
    // What npm 10/11 hands the script for `npm run status --stack dev`: argv ["dev"], npm_config_stack=true.
    const env = { npm_lifecycle_event: "status", npm_config_stack: "true", npm_config_yes: "" };
    const io = fakeIo();
    const status = COMMANDS.find((c) => c.name === "status")!;
    expect(await status.main(["dev"], io, fakeDeps(prod(), { env }))).toBe(EXIT.usage);
    expect(io.stderr).toBe(
      'error: unexpected argument "dev": every option is a --flag (valid flags: --stack, --help)\n' +
        "npm kept --stack for itself: put -- between the script and its flags, e.g. `npm run status -- --stack dev`\n" +
        "Run `npm run status -- --help` for usage.\n",
    );
    // `-s dev` is npm's own --silent: only "dev" arrives.
    expect(npmHint("status", ["stack"], ["dev"], { npm_lifecycle_event: "status" })).toBe(
      "npm kept the flags for itself: put -- between the script and its flags, e.g. `npm run status -- --stack dev`",
    );
    // Run directly (not through npm), or through npm with --: no hint.
    expect(npmHint("status", ["stack"], ["dev"], {})).toBeUndefined();
    expect(
      npmHint("status", ["stack"], ["--stack"], { npm_lifecycle_event: "status", npm_config_yes: "" }),
    ).toBeUndefined();
  });

  it("the real npm, without --, gets the hint", () => {
    const result = spawnSync("npm", ["run", "--silent", "status", "--stack", "dev"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(EXIT.usage);
    expect(result.stderr).toContain(
      "npm kept --stack for itself: put -- between the script and its flags, e.g. `npm run status -- --stack dev`\n",
    );
  });
});

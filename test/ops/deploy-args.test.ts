import { execFileSync, spawnSync } from "child_process";
import * as path from "path";
import { UsageError } from "../../ops/runner/args";
import { deploy } from "../../ops/commands/deploy";
import { rollback } from "../../ops/commands/rollback";
import { fakeDeps, fakeIo } from "../support";

const ROOT = path.resolve(__dirname, "..", "..");
const [main, parseDeployArgs, rollbackMain, parseRollbackArgs] = [
  deploy.main,
  deploy.parse,
  rollback.main,
  rollback.parse,
];

function deployError(argv: string[]): string {
  try {
    parseDeployArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("parseDeployArgs", () => {
  it("parses a version deploy", () => {
    expect(parseDeployArgs(["--stack", "prod", "--service", "ems", "--version", "1.5.0", "--yes"])).toEqual({
      help: false,
      options: { stack: "prod", service: "ems", version: "1.5.0", yes: true, rest: [] },
    });
  });

  it("parses a plain deploy (first run on a laptop)", () => {
    expect(parseDeployArgs(["--stack", "dev"])).toEqual({
      help: false,
      options: { stack: "dev", service: undefined, version: undefined, yes: false, rest: [] },
    });
  });

  it("wants --service and --version together", () => {
    const message = "--service and --version go together: give both to change a version, or neither for a plain deploy";
    expect(deployError(["--stack", "prod", "--service", "ems"])).toBe(message);
    expect(deployError(["--stack", "prod", "--version", "1.5.0"])).toBe(message);
  });

  it("refuses latest, empty and malformed versions", () => {
    expect(deployError(["--stack", "prod", "--service", "ems", "--version", "latest"])).toBe(
      '--version must be a pinned tag such as 1.5.0, never "latest"',
    );
    expect(deployError(["--stack", "prod", "--service", "ems", "--version", "LATEST"])).toBe(
      '--version must be a pinned tag such as 1.5.0, never "latest"',
    );
    expect(deployError(["--stack", "prod", "--service", "ems", "--version", ""])).toBe(
      "missing value for --version <tag>",
    );
    expect(deployError(["--stack", "prod", "--service", "ems", "--version="])).toBe(
      "missing value for --version <tag>",
    );
    expect(deployError(["--stack", "prod", "--service", "ems", "--version", "1.5.0 beta"])).toBe(
      '--version "1.5.0 beta" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters)',
    );
    expect(deployError(["--stack", "prod", "--service", "ems", "--version", ".1"])).toBe(
      '--version ".1" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters)',
    );
  });

  it("refuses a malformed service name", () => {
    expect(deployError(["--stack", "prod", "--service", "EMS", "--version", "1.5.0"])).toBe(
      '--service "EMS" is not a service name (lower-case letters, digits and dashes, like ems)',
    );
  });

  it("requires --stack", () => {
    expect(deployError(["--service", "ems", "--version", "1.5.0"])).toBe("missing required flag --stack <name>");
  });
});

describe("deploy main: arguments", () => {
  it("prints the usage for --help and exits 0 without opening a stack", async () => {
    const io = fakeIo();
    const deps = fakeDeps(new Error("must not be called"));
    expect(await main(["--help"], io, deps)).toBe(0);
    expect(io.stdout).toBe(
      [
        "Usage: npm run deploy -- --stack <name> [--service <name>] [--version <tag>] [--yes]",
        "",
        "Deploys a stack: optionally sets one service's image version, previews the change with a diff, " +
          "asks for confirmation, then runs pulumi up. Nothing is deployed unless you confirm (or pass --yes).",
        "",
        "Flags:",
        "  -s, --stack <name>  Stack to deploy: dev on this laptop (created if missing) or prod on the VPS (required)",
        "  --service <name>    Service whose version changes, as named in ems-infra:services (e.g. ems)",
        "  --version <tag>     Image tag to deploy for --service (e.g. 1.5.0; never latest)",
        "  -y, --yes           Do not ask for confirmation (required when not run from a terminal)",
        "  -h, --help          Show this help and exit",
        "",
        "--service and --version go together; without them the command previews and applies the stack as configured.",
        'A failure or a "no" before pulumi up puts the previous version back in the stack config.',
        "A container a failed deploy left unhealthy is replaced on the next run; the running one is kept until then.",
        "",
        "Examples:",
        "  npm run deploy -- --stack dev",
        "  npm run deploy -- --stack prod --service ems --version 1.5.0",
        "  npm run deploy -- --stack prod --yes",
        "",
      ].join("\n"),
    );
    expect(io.stderr).toBe("");
    expect(deps.opened).toEqual([]);
  });

  it("exits 2 on an unknown flag, naming it and the valid ones", async () => {
    const io = fakeIo();
    const deps = fakeDeps(new Error("must not be called"));
    expect(await main(["--stack", "prod", "--servce", "ems"], io, deps)).toBe(2);
    expect(io.stderr).toBe(
      "error: unknown flag --servce (did you mean --service?); valid flags: --stack, --service, --version, --yes, --help\n" +
        "Run `npm run deploy -- --help` for usage.\n",
    );
    expect(io.stdout).toBe("");
    expect(deps.opened).toEqual([]);
  });

  it("exits 2 on a missing value", async () => {
    const io = fakeIo();
    expect(await main(["--stack"], io, fakeDeps(new Error("unused")))).toBe(2);
    expect(io.stderr).toBe("error: missing value for --stack <name>\nRun `npm run deploy -- --help` for usage.\n");
  });
});

describe("rollback main: arguments", () => {
  it("parses --to as a number", () => {
    expect(parseRollbackArgs(["--stack", "prod", "--to", "7"])).toEqual({
      help: false,
      options: { stack: "prod", to: 7, yes: false, rest: [] },
    });
  });

  it("prints the usage for --help", async () => {
    const io = fakeIo();
    expect(await rollbackMain(["-h"], io, fakeDeps(new Error("unused")))).toBe(0);
    expect(io.stdout.split("\n").slice(0, 9)).toEqual([
      "Usage: npm run rollback -- --stack <name> [--to <n>] [--yes]",
      "",
      "Rolls a stack back to the image versions (services, Traefik, PostgreSQL) of an earlier successful update: " +
        "shows the history, previews the change, asks for confirmation, then runs pulumi up.",
      "",
      "Flags:",
      "  -s, --stack <name>  Stack to roll back, e.g. prod (required)",
      "  --to <n>            Update number to return to (default: the successful update before the current one)",
      "  -y, --yes           Do not ask for confirmation (required when not run from a terminal)",
      "  -h, --help          Show this help and exit",
    ]);
  });

  it("exits 2 on bad arguments", async () => {
    const io = fakeIo();
    expect(await rollbackMain(["--stack", "prod", "--to", "last"], io, fakeDeps(new Error("unused")))).toBe(2);
    expect(io.stderr).toBe(
      'error: --to must be a whole number (got "last")\nRun `npm run rollback -- --help` for usage.\n',
    );
    const io2 = fakeIo();
    expect(await rollbackMain(["--stack", "prod", "--version", "1"], io2, fakeDeps(new Error("unused")))).toBe(2);
    expect(io2.stderr).toBe(
      "error: unknown flag --version; valid flags: --stack, --to, --yes, --help\nRun `npm run rollback -- --help` for usage.\n",
    );
  });
});

describe("the CLIs as processes (no Pulumi CLI needed)", () => {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  // PATH without any pulumi binary: --help and usage errors must not need it.
  const env = { ...process.env, PATH: path.dirname(process.execPath) };

  it.each(["deploy"])("%s --help exits 0 and prints the usage", (name) => {
    const stdout = execFileSync(tsx, [path.join(ROOT, "ops", "commands", `${name}.ts`), "--help"], {
      cwd: ROOT,
      env,
      encoding: "utf8",
    });
    expect(stdout).toMatch(new RegExp(`^Usage: npm run ${name} -- --stack <name>`));
  });

  it.each(["deploy"])("%s with an unknown flag exits 2", (name) => {
    const result = spawnSync(tsx, [path.join(ROOT, "ops", "commands", `${name}.ts`), "--stack", "prod", "--nope"], {
      cwd: ROOT,
      env,
      encoding: "utf8",
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown flag --nope; valid flags: --stack, /);
    expect(result.stdout).toBe("");
  });

  it("deploy's spec is what --help documents", () => {
    expect(Object.keys(deploy.spec.flags)).toEqual(["stack", "service", "version", "yes"]);
  });
});

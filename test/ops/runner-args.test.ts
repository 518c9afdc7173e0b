import { formatHelp, parseArgs, UsageError, usageHint } from "../../ops/runner/args";

const spec = {
  command: "npm run demo --",
  summary: "Does the demo thing.",
  flags: {
    stack: { type: "string", required: true, valueName: "name", description: "Stack to use" },
    to: { type: "integer", valueName: "n", description: "Update number" },
    "dry-run": { type: "boolean", description: "Change nothing" },
    label: { type: "string", description: "Free text" },
  },
  examples: ["npm run demo -- --stack dev"],
} as const;

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(spec, argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`);
}

describe("parseArgs", () => {
  it("parses separate and inline values, integers and switches", () => {
    expect(parseArgs(spec, ["--stack", "prod", "--to=12", "--dry-run", "--label", "a b"])).toEqual({
      help: false,
      values: { stack: "prod", to: 12, "dry-run": true, label: "a b" },
    });
  });

  it("fills absent switches with false and leaves absent optional values undefined", () => {
    const parsed = parseArgs(spec, ["--stack=dev"]);
    expect(parsed).toEqual({
      help: false,
      values: { stack: "dev", to: undefined, "dry-run": false, label: undefined },
    });
  });

  it("types the values (compile-time check)", () => {
    const parsed = parseArgs(spec, ["--stack", "dev", "--to", "3"]);
    if (parsed.help) throw new Error("unexpected help");
    const stack: string = parsed.values.stack;
    const to: number | undefined = parsed.values.to;
    const dryRun: boolean = parsed.values["dry-run"];
    expect([stack, to, dryRun]).toEqual(["dev", 3, false]);
  });

  it("returns help for --help or -h anywhere, even next to mistakes", () => {
    expect(parseArgs(spec, ["--help"])).toEqual({ help: true });
    expect(parseArgs(spec, ["--stack", "dev", "-h"])).toEqual({ help: true });
    expect(parseArgs(spec, ["--bogus", "--help"])).toEqual({ help: true });
    expect(parseArgs(spec, ["--stack", "--help"])).toEqual({ help: true });
  });

  it("refuses unknown flags, naming the flag and listing the valid ones", () => {
    const error = usageError(["--stack", "dev", "--force"]);
    expect(error.message).toBe("unknown flag --force; valid flags: --stack, --to, --dry-run, --label, --help");
    expect(error.exitCode).toBe(2);
  });

  it("suggests the nearest flag for a typo", () => {
    expect(usageError(["--stak", "dev"]).message).toBe(
      "unknown flag --stak (did you mean --stack?); valid flags: --stack, --to, --dry-run, --label, --help",
    );
    expect(usageError(["--dryrun"]).message).toBe(
      "unknown flag --dryrun (did you mean --dry-run?); valid flags: --stack, --to, --dry-run, --label, --help",
    );
  });

  it("does not mistake object prototype names for flags", () => {
    expect(usageError(["--constructor"]).message).toBe(
      "unknown flag --constructor; valid flags: --stack, --to, --dry-run, --label, --help",
    );
  });

  it("refuses a missing value at the end, before another flag, or empty", () => {
    expect(usageError(["--stack"]).message).toBe("missing value for --stack <name>");
    expect(usageError(["--stack", "--dry-run"]).message).toBe("missing value for --stack <name>");
    expect(usageError(["--stack="]).message).toBe("missing value for --stack <name>");
    expect(usageError(["--stack", ""]).message).toBe("missing value for --stack <name>");
    expect(usageError(["--stack", "dev", "--label"]).message).toBe("missing value for --label <label>");
  });

  it("refuses a missing required flag", () => {
    expect(usageError([]).message).toBe("missing required flag --stack <name>");
    expect(usageError(["--dry-run"]).message).toBe("missing required flag --stack <name>");
  });

  it("refuses non-integer values for integer flags", () => {
    expect(usageError(["--stack", "dev", "--to", "12a"]).message).toBe('--to must be a whole number (got "12a")');
    expect(usageError(["--stack", "dev", "--to=1.5"]).message).toBe('--to must be a whole number (got "1.5")');
    expect(usageError(["--stack", "dev", "--to", "-3"]).message).toBe("missing value for --to <n>");
  });

  it("refuses a value given to a switch", () => {
    expect(usageError(["--stack", "dev", "--dry-run=false"]).message).toBe(
      '--dry-run is a switch and takes no value (got "false")',
    );
  });

  it("refuses repeated flags and stray arguments", () => {
    expect(usageError(["--stack", "dev", "--stack", "prod"]).message).toBe("--stack is given more than once");
    expect(usageError(["--stack", "dev", "prod"]).message).toBe(
      'unexpected argument "prod": every option is a --flag (valid flags: --stack, --to, --dry-run, --label, --help)',
    );
    expect(usageError(["-s", "dev"]).message).toBe(
      'unexpected argument "-s": every option is a --flag (valid flags: --stack, --to, --dry-run, --label, --help)',
    );
    expect(usageError(["--", "--stack", "dev"]).message).toBe(
      'unexpected argument "--": every option is a --flag (valid flags: --stack, --to, --dry-run, --label, --help)',
    );
  });

  it("rejects a declaration that shadows --help", () => {
    expect(() =>
      parseArgs({ command: "x", summary: "y", flags: { help: { type: "boolean", description: "z" } } }, []),
    ).toThrow("invalid flag declaration: help");
  });
});

describe("formatHelp", () => {
  it("renders usage, summary, aligned flags and examples", () => {
    expect(formatHelp(spec)).toBe(
      [
        "Usage: npm run demo -- --stack <name> [--to <n>] [--dry-run] [--label <label>]",
        "",
        "Does the demo thing.",
        "",
        "Flags:",
        "  --stack <name>   Stack to use (required)",
        "  --to <n>         Update number",
        "  --dry-run        Change nothing",
        "  --label <label>  Free text",
        "  -h, --help       Show this help and exit",
        "",
        "Examples:",
        "  npm run demo -- --stack dev",
        "",
      ].join("\n"),
    );
  });

  it("gives a one-line hint for usage errors", () => {
    expect(usageHint(spec)).toBe("Run `npm run demo -- --help` for usage.");
  });
});

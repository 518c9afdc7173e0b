/**
 * The one way to write an ops command. A command file declares its flags and calls flows; the runner owns what
 * every command shares:
 *
 * - the shared flags `--stack/-s`, `--yes/-y` and `--help/-h`, parsed strictly (runner/args.ts);
 * - usage errors (exit 2) with the hint, plus how to pass flags through npm when npm kept them (`npm run x --stack dev`);
 * - the terminal/`--yes` rule: a command that asks before it changes something refuses without a terminal and
 *   without `--yes`, always with {@link EXIT}.refused;
 * - the missing Pulumi CLI, said before anything else runs;
 * - opening the stack (creating it only for deploy, after its checks) and the target banner (stack, backend,
 *   Docker host) before the command touches anything;
 * - one-line errors: any error a command throws is printed as `error: <message>`, never a stack trace.
 */
import {
  CommandSpec,
  FlagSpec,
  FlagValues,
  formatHelp,
  parseArgs,
  stackFlag,
  UsageError,
  usageHint,
  yesFlag,
} from "./args";
import { Context, defaultDeps, Deps, StackLike } from "./context";
import { describeError, Io, MISSING_PULUMI, processIo } from "./io";
import { printTarget, refuseCiTarget, refuseStackCreation } from "./target";

/** The exit codes every command uses. */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem, or failed (unhealthy, drift, deploy failed, an error). */
  failed: 1,
  /** A command-line mistake. */
  usage: 2,
  /** Refused: no terminal to confirm on and no `--yes`. */
  refused: 2,
  /** The Pulumi CLI is not on PATH. */
  missingCli: 127,
  /** Stopped by a second Ctrl-C. */
  interrupted: 130,
} as const;

type Flags = Readonly<Record<string, FlagSpec>>;

/** How a command reaches its stack: none, an existing one, or created when missing (deploy's first run on a laptop). */
export type StackMode = "none" | "select" | "create";

type StackFlags<M extends StackMode> = M extends "none" ? object : { stack: ReturnType<typeof stackFlag> };
type YesFlags<C extends boolean> = C extends true ? { yes: ReturnType<typeof yesFlag> } : object;

/** Everything the command line gave: the declared flags, `stack`/`yes` when shared, `rest` after a lone `--`. */
export type Options<F extends Flags, M extends StackMode, C extends boolean> = FlagValues<
  F & StackFlags<M> & YesFlags<C>
> & {
  rest: string[];
};

/** What a command's `run` receives: the context, and the opened stack when the command has one. */
type RunContext<M extends StackMode> = Context & (M extends "none" ? object : { stack: StackLike });

export interface CommandDefinition<F extends Flags, M extends StackMode, C extends boolean, O> {
  /** The npm script name: `deploy` → `npm run deploy -- …`. */
  name: string;
  summary: string;
  /** The command's own flags (the shared ones are added by the runner). */
  flags: F;
  /** How the command reaches its stack (default "select"); the `--stack` flag's help text. */
  stack: M extends "none" ? { mode: M } : { mode: M; description: string };
  /** The command asks before it changes something: it gets `--yes` and the terminal rule. */
  confirms: C;
  /** With `confirms`: false when this invocation changes nothing (e.g. `--dry-run`), so no terminal is needed. */
  changes?: (options: Options<F, M, C>) => boolean;
  /** Everything after a lone `--` is kept in `rest` (exec's command); otherwise a `--` is a usage error. */
  rest?: { description: string };
  /**
   * Runs before anything else (the Pulumi CLI check, opening the stack): a number stops the command with that exit
   * code (deploy's machine checks on a laptop).
   */
  before?: (options: O, ctx: Context) => Promise<number | undefined>;
  /** More checks and shaping of the parsed flags; throws {@link UsageError}. */
  validate?: (options: Options<F, M, C>) => O;
  notes?: readonly string[];
  examples?: readonly string[];
  /** The command: resolves with its exit code; anything it throws is printed as one line, exit 1. */
  run(options: O, ctx: RunContext<M>): Promise<number>;
}

export interface Command<O> {
  name: string;
  /** The help and the flags, as `--help` prints them. */
  spec: CommandSpec;
  /** Parses argv (help and usage errors throw nothing: see `main`); for tests of a command's flags. */
  parse(argv: readonly string[]): { help: true } | { help: false; options: O };
  /** Runs the command with this argv; resolves with the exit code and never rejects. */
  main(argv: readonly string[], io: Io, deps?: Deps): Promise<number>;
}

/** Declares a command; `runMain(module, command)` at the bottom of its file makes it the script's entry point. */
export function defineCommand<F extends Flags, M extends StackMode, C extends boolean, O = Options<F, M, C>>(
  def: CommandDefinition<F, M, C, O>,
): Command<O> {
  const flags: Record<string, FlagSpec> = {};
  if (def.stack.mode !== "none") flags.stack = stackFlag((def.stack as { description: string }).description);
  Object.assign(flags, def.flags);
  if (def.confirms) flags.yes = yesFlag();
  const spec: CommandSpec = {
    command: `npm run ${def.name} --`,
    summary: def.summary,
    flags,
    notes: [...(def.rest ? [def.rest.description] : []), ...(def.notes ?? [])],
    examples: def.examples,
  };

  const parseAll = (argv: readonly string[]): { help: true } | { help: false; options: O; flags: Options<F, M, C> } => {
    const dash = def.rest ? argv.indexOf("--") : -1;
    const flagArgs = dash === -1 ? argv : argv.slice(0, dash);
    const rest = dash === -1 ? [] : argv.slice(dash + 1);
    if (dash !== -1 && rest.length === 0)
      throw new UsageError("nothing after --: give the command to run, or leave out the --");
    const parsed = parseArgs(spec, flagArgs);
    if (parsed.help) return { help: true };
    const flags = { ...parsed.values, rest } as Options<F, M, C>;
    return { help: false, options: def.validate ? def.validate(flags) : (flags as unknown as O), flags };
  };
  const parse = (argv: readonly string[]): { help: true } | { help: false; options: O } => {
    const parsed = parseAll(argv);
    return parsed.help ? parsed : { help: false, options: parsed.options };
  };

  const main = async (argv: readonly string[], io: Io, deps: Deps = defaultDeps): Promise<number> => {
    let options: O;
    let flagValues: Options<F, M, C>;
    try {
      const parsed = parseAll(argv);
      if (parsed.help) {
        io.out(formatHelp(spec));
        return EXIT.ok;
      }
      options = parsed.options;
      flagValues = parsed.flags;
    } catch (error) {
      if (error instanceof UsageError) {
        const npm = npmHint(def.name, Object.keys(flags), argv, deps.env);
        io.err(`error: ${error.message}\n${npm ? `${npm}\n` : ""}${usageHint(spec)}\n`);
        return EXIT.usage;
      }
      io.err(`error: ${describeError(error)}\n`);
      return EXIT.failed;
    }

    const raw = flagValues as Record<string, unknown>;
    const changes = def.confirms && (def.changes ? def.changes(flagValues) : true);
    if (changes && raw.yes !== true && !io.isTTY) {
      io.err(
        `error: refusing to ${def.name}${raw.stack ? ` stack ${String(raw.stack)}` : ""} without confirmation: this is not a terminal; ` +
          `re-run with --yes to ${def.name} unattended\n`,
      );
      return EXIT.refused;
    }

    const ctx: Context = { ...deps, io };
    try {
      const stop = await def.before?.(options, ctx);
      if (stop !== undefined) return stop;
      if (def.stack.mode === "none") return await def.run(options, ctx as RunContext<M>);
      if (!deps.onPath("pulumi")) {
        io.err(`error: ${MISSING_PULUMI}\n`);
        return EXIT.missingCli;
      }
      const stack = await openStack(String(raw.stack), def.stack.mode, ctx);
      await printTarget(stack, io, deps);
      return await def.run(options, { ...ctx, stack } as RunContext<M>);
    } catch (error) {
      io.err(`error: ${describeError(error)}\n`);
      return EXIT.failed;
    }
  };

  return { name: def.name, spec, parse, main };
}

async function openStack(name: string, mode: "select" | "create", ctx: Context): Promise<StackLike> {
  if (mode === "create") {
    const refusal = await refuseStackCreation(name, ctx);
    if (refusal) throw new Error(refusal);
  }
  const stack = await ctx.openStack(name, ctx.repoRoot, mode === "create");
  const ciRefusal = await refuseCiTarget(stack, ctx.env);
  if (ciRefusal) throw new Error(ciRefusal);
  return stack;
}

/**
 * When npm kept the command's flags for itself (`npm run status --stack dev` without `--`: npm sets
 * `npm_config_stack` and passes only `dev`; `-s` is npm's `--silent`), how to pass them through; undefined otherwise.
 */
export function npmHint(
  name: string,
  flagNames: readonly string[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (!env.npm_lifecycle_event) return undefined;
  const eaten = flagNames.filter((f) => {
    const value = env[`npm_config_${f.replace(/-/g, "_")}`];
    return value !== undefined && value !== "";
  });
  const stray = argv.length > 0 && !argv[0].startsWith("-");
  if (eaten.length === 0 && !stray) return undefined;
  const which = eaten.length ? eaten.map((f) => `--${f}`).join(", ") : "the flags";
  return `npm kept ${which} for itself: put -- between the script and its flags, e.g. \`npm run ${name} -- --stack dev\``;
}

/**
 * Makes a command its file's entry point (`tsx ops/commands/x.ts`): runs it with the process' argv and terminal.
 * A first Ctrl-C is left to the Pulumi CLI (it stops gracefully and the CLI then restores config); a second one
 * exits at once. Any error that escapes (one that no promise awaited) is printed as one line, never a stack trace.
 */
export function runMain(module: NodeJS.Module, command: Pick<Command<unknown>, "main">): void {
  if (require.main !== module) return;
  const oneLine = (error: unknown) => {
    process.stderr.write(`error: ${describeError(error)}\n`);
    process.exit(EXIT.failed);
  };
  process.on("uncaughtException", oneLine);
  process.on("unhandledRejection", oneLine);
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    process.stderr.write("\ninterrupted: waiting for pulumi to stop (Ctrl-C again to quit at once)\n");
  };
  process.on("SIGINT", onInterrupt);
  void command.main(process.argv.slice(2), processIo()).then((code) => {
    process.off("SIGINT", onInterrupt);
    process.exitCode = code;
  });
}

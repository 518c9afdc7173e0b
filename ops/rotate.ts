/**
 * `npm run rotate -- --stack prod --secret ems.apiKey [--yes]`: a new value for one secret, through the release flow.
 * A generated secret (a RandomPassword in the state) is rotated by replacing its generator (`up --replace <urn>`);
 * a secret set in config gets a new random value with `config set --secret`.
 */
import * as crypto from "crypto";
import type { Deployment } from "@pulumi/pulumi/automation";
import { CommandSpec, parseArgs, UsageError, stackFlag, yesFlag } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import { ConfigEdit, release } from "./release";
import { configValue } from "./stackConfig";
import { refuseCiTarget } from "./target";
import { defaultDeps, OpsDeps, StackLike } from "./workspace";

export const rotateSpec = {
  command: "npm run rotate --",
  summary: "Rotates one secret: previews what restarts, asks, then deploys the new value.",
  flags: {
    stack: stackFlag("Stack, e.g. prod"),
    secret: {
      type: "string",
      required: true,
      valueName: "name",
      description: "postgresPassword, dashboardPassword, or <service>.jwtKey | .apiKey | .dbPassword",
    },
    yes: yesFlag(),
  },
  notes: [
    "A new API key breaks every client that sends the old one; a new JWT key logs every user of that API out;",
    "a new database password restarts the APIs that use it (new container first).",
  ],
  examples: [
    "npm run rotate -- --stack prod --secret ems.apiKey",
    "npm run rotate -- -s prod --secret postgresPassword",
  ],
} as const satisfies CommandSpec;

const SERVICE_SECRETS = {
  jwtKey: { id: "jwt-key", length: 64 },
  apiKey: { id: "api-key", length: 40 },
  dbPassword: { id: "db-password", length: 32 },
} as const;
const TOP_SECRETS = {
  postgresPassword: { id: "postgres-password", length: 32 },
  dashboardPassword: { id: "dashboard-password", length: 32 },
} as const;
const SECRET_NAME = /^(postgresPassword|dashboardPassword|[a-z][a-z0-9-]*\.(jwtKey|apiKey|dbPassword))$/;
const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

/** Where a secret lives: its generator's resource name and its config key. */
export interface SecretLocation {
  name: string;
  /** `credentials-ems-api-key`: the RandomPassword that generates it when config does not set it. */
  generator: string;
  /** `ems-infra:serviceSecrets.ems.apiKey`. */
  configKey: string;
  /** The config key reaches into an object. */
  path: boolean;
  length: number;
  /** What clients notice. */
  effect: string;
}

export function locateSecret(name: string): SecretLocation {
  if (!SECRET_NAME.test(name)) {
    throw new UsageError(
      `--secret "${name}" is not a secret name: postgresPassword, dashboardPassword, or <service>.jwtKey, .apiKey, .dbPassword`,
    );
  }
  if (name === "postgresPassword" || name === "dashboardPassword") {
    const top = TOP_SECRETS[name];
    const effect =
      name === "postgresPassword"
        ? "the role's password is changed in place, then every API using it restarts (new container first)"
        : "the Traefik dashboard asks for the new password; Traefik restarts";
    return {
      name,
      generator: `credentials-${top.id}`,
      configKey: `ems-infra:${name}`,
      path: false,
      length: top.length,
      effect,
    };
  }
  const [service, kind] = name.split(".") as [string, keyof typeof SERVICE_SECRETS];
  const effects: Record<keyof typeof SERVICE_SECRETS, string> = {
    apiKey: `every client that sends the old ${service} API key is refused until it gets the new one; the ${service} API restarts`,
    jwtKey: `every user of ${service} is logged out (their tokens no longer verify); the ${service} API restarts`,
    dbPassword: `only the ${service} API restarts (new container first)`,
  };
  const spec = SERVICE_SECRETS[kind];
  return {
    name,
    generator: `credentials-${service}-${spec.id}`,
    configKey: `ems-infra:serviceSecrets.${service}.${kind}`,
    path: true,
    length: spec.length,
    effect: effects[kind],
  };
}

/** The URN of a generator in the state, or undefined. */
export function generatorUrn(state: Deployment, generator: string): string | undefined {
  const resources = (state.deployment as { resources?: Array<{ urn: string; type: string }> }).resources ?? [];
  return resources.find((r) => r.type === RANDOM_PASSWORD && r.urn.endsWith(`::${generator}`))?.urn;
}

/** Generator names found in a state, for the "known secrets" hint. */
function generators(state: Deployment): string[] {
  const resources = (state.deployment as { resources?: Array<{ urn: string; type: string }> }).resources ?? [];
  return resources.filter((r) => r.type === RANDOM_PASSWORD).map((r) => r.urn.slice(r.urn.lastIndexOf("::") + 2));
}

/** A new random value like the program's generators (letters and digits). */
export function newSecretValue(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from({ length }, () => alphabet[crypto.randomInt(alphabet.length)]).join("");
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(rotateSpec, io, () => {
    const parsed = parseArgs(rotateSpec, argv);
    if (parsed.help) return parsed;
    locateSecret(parsed.values.secret);
    return { help: false as const, options: parsed.values };
  });
  if (args.kind === "exit") return args.code;
  const opts = args.options;
  if (!opts.yes && !io.isTTY) {
    io.err(
      `error: refusing to rotate ${opts.secret} on stack ${opts.stack} without confirmation: this is not a terminal; re-run with --yes\n`,
    );
    return 1;
  }

  let stack: StackLike;
  const edits: ConfigEdit[] = [];
  const replace: string[] = [];
  const secret = locateSecret(opts.secret);
  try {
    stack = await deps.openStack(opts.stack, deps.repoRoot, false);
    const ciRefusal = await refuseCiTarget(stack, deps.env);
    if (ciRefusal) throw new Error(ciRefusal);
    if ((await configValue(stack, secret.configKey, secret.path)) !== undefined) {
      edits.push({ key: secret.configKey, value: newSecretValue(secret.length), path: secret.path, secret: true });
      io.out(`${opts.secret} is set in config (${secret.configKey}): it gets a new random value\n`);
    } else {
      const state = await stack.exportStack();
      const urn = generatorUrn(state, secret.generator);
      if (!urn) {
        const known = generators(state).join(", ") || "none";
        throw new Error(
          `stack ${opts.stack} has no ${opts.secret}: neither ${secret.configKey} in config nor a generator ${secret.generator} in its state (generators: ${known})`,
        );
      }
      replace.push(urn);
      io.out(`${opts.secret} is generated: its generator is replaced (${urn})\n`);
    }
    io.out(`effect: ${secret.effect}\n`);
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }

  return release(
    stack,
    {
      what: `a new ${opts.secret}`,
      question: `Rotate ${opts.secret} on stack ${opts.stack}?`,
      message: `rotate ${opts.secret}`,
      edits,
      replace,
      yes: opts.yes,
      nothingToDo: `nothing to do: the preview proposes no change for ${opts.secret}`,
      afterFailure: `Fix the cause and re-run \`npm run deploy -- --stack ${opts.stack}\`: it finishes the rotation.`,
      done: `rotated ${opts.secret} on stack ${opts.stack}`,
    },
    io,
    deps,
  );
}

if (require.main === module) runCli((argv, io) => main(argv, io));

/**
 * `npm run rotate -- --stack prod --secret ems.apiKey [--yes]`: a new value for one secret, through the release flow.
 * A generated secret (a RandomPassword in the state) is rotated by replacing its generator (`up --replace <urn>`);
 * a secret set in config gets a new random value with `config set --secret`.
 */
import { ConfigEdit, release } from "../release";
import { defineCommand, runMain } from "../runner/defineCommand";
import { configValue } from "../runner/stackConfig";
import { generators, generatorUrn, locateSecret, newSecretValue } from "../secrets";

export const rotate = defineCommand({
  name: "rotate",
  summary: "Rotates one secret: previews what restarts, asks, then deploys the new value.",
  stack: { mode: "select", description: "Stack, e.g. prod" },
  confirms: true,
  flags: {
    secret: {
      type: "string",
      required: true,
      valueName: "name",
      description: "postgresPassword, dashboardPassword, or <service>.jwtKey | .apiKey | .dbPassword",
    },
  },
  validate: (options) => ({ ...options, location: locateSecret(options.secret) }),
  notes: [
    "A new API key breaks every client that sends the old one; a new JWT key logs every user of that API out;",
    "a new database password restarts the APIs that use it (new container first).",
  ],
  examples: [
    "npm run rotate -- --stack prod --secret ems.apiKey",
    "npm run rotate -- -s prod --secret postgresPassword",
  ],
  async run(options, ctx) {
    const { stack, io } = ctx;
    const secret = options.location;
    const edits: ConfigEdit[] = [];
    const replace: string[] = [];
    if ((await configValue(stack, secret.configKey, secret.path)) !== undefined) {
      edits.push({ key: secret.configKey, value: newSecretValue(secret.length), path: secret.path, secret: true });
      io.out(`${options.secret} is set in config (${secret.configKey}): it gets a new random value\n`);
    } else {
      const state = await stack.exportStack();
      const urn = generatorUrn(state, secret.generator);
      if (!urn) {
        const known = generators(state).join(", ") || "none";
        throw new Error(
          `stack ${stack.name} has no ${options.secret}: neither ${secret.configKey} in config nor a generator ${secret.generator} in its state (generators: ${known})`,
        );
      }
      replace.push(urn);
      io.out(`${options.secret} is generated: its generator is replaced (${urn})\n`);
    }
    io.out(`effect: ${secret.effect}\n`);

    return release(
      stack,
      {
        what: `a new ${options.secret}`,
        question: `Rotate ${options.secret} on stack ${stack.name}?`,
        message: `rotate ${options.secret}`,
        edits,
        replace,
        yes: options.yes,
        nothingToDo: `nothing to do: the preview proposes no change for ${options.secret}`,
        afterFailure: `Fix the cause and re-run \`npm run deploy -- --stack ${stack.name}\`: it finishes the rotation.`,
        done: `rotated ${options.secret} on stack ${stack.name}`,
      },
      io,
      ctx,
    );
  },
});

runMain(module, rotate);

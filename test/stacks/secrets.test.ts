/**
 * No credential reaches a resource input or a stack output unless it is a Pulumi secret: the GHCR token,
 * the Postgres password, the services' JWT/API keys set in config, and the generated ones.
 */
import * as crypto from "crypto";
import { SECRET_KEYS } from "../../stacks/config";
import { StackRun, T, TEST_SECRETS, committedConfig, isSecretInput, runStack } from "../support/stackHarness";
import { emulateAdditionalSecretOutputs } from "../support/componentHarness";
import { allStrings, isSecretEnvelope, resolveInput, runErrorMessage, runFailingStack } from "./helpers";

const SET = {
  "ems-infra:postgresPassword": "pg-Rotated-Secret-0123456789",
  "ems-infra:serviceSecrets": JSON.stringify({ ems: { jwtKey: "jwt-ems-0123456789abcdefghijklmnopqrstuv", apiKey: "api-ems-0123456789ab" } }),
};
const SET_VALUES = [TEST_SECRETS["ems-infra:ghcrToken"], SET["ems-infra:postgresPassword"], "jwt-ems-0123456789abcdefghijklmnopqrstuv", "api-ems-0123456789ab"];
const SECRET_KEY_LIST = [...Object.keys(TEST_SECRETS), ...Object.keys(SET)];

/** The value the mock gives a RandomPassword (test/support/stackHarness.ts's mockState), from its recorded inputs. */
function generatedResult(r: { type: string; name: string; inputs: Record<string, unknown> }): string {
  const hash = crypto.createHash("sha256").update(`${r.type}/${r.name}/${JSON.stringify(r.inputs)}`).digest("hex");
  return `generated-${r.name}-${hash.slice(0, 16)}`;
}

/** Resource properties (as passed to the constructor) that hold a credential without being secret. */
async function plainCredentialProps(run: StackRun, credentials: string[]): Promise<string[]> {
  const leaks: string[] = [];
  for (const r of run.resources) {
    for (const [key, value] of Object.entries(r.props ?? {})) {
      if (value === undefined) continue;
      const text = allStrings(await resolveInput(value)).join("\n");
      if (credentials.some((c) => text.includes(c)) && !(await isSecretInput(value))) leaks.push(`${r.type} ${r.name}: ${key}`);
    }
  }
  return leaks;
}

/** Places in the inputs the engine received where a credential appears outside a secret envelope. */
function plainCredentialInputs(run: StackRun, credentials: string[]): string[] {
  const leaks: string[] = [];
  const walk = (where: string, value: unknown): void => {
    if (isSecretEnvelope(value)) return;
    if (typeof value === "string") {
      if (credentials.some((c) => value.includes(c))) leaks.push(where);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(`${where}.${k}`, v);
    }
  };
  for (const r of run.resources) walk(`${r.type} ${r.name}`, r.inputs);
  return leaks;
}

// The engine returns the outputs a resource lists in additionalSecretOutputs (RandomPassword's `result`) as
// secrets; Pulumi's mock monitor does not, so it is emulated here, as the engine would do it.
let undoEmulation: () => void;
beforeAll(() => {
  undoEmulation = emulateAdditionalSecretOutputs();
});
afterAll(() => undoEmulation());

const SCENARIOS = [
  ["dev", "some credentials set in config, the others generated", true],
  ["prod", "some credentials set in config, the others generated", true],
  ["dev", "the committed config: every credential generated", false],
  ["prod", "the committed config and the GHCR token: every other credential generated", false],
] as const;

describe.each(SCENARIOS)("%s stack, %s", (stack, _scenario, withSet) => {
  let run: StackRun;
  let credentials: string[];
  beforeAll(async () => {
    const config = { ...committedConfig(stack), ...(stack === "prod" || withSet ? TEST_SECRETS : {}), ...(withSet ? SET : {}) };
    run = await runStack(stack, config, SECRET_KEY_LIST);
    const generated = run.ofType(T.randomPassword).map(generatedResult);
    credentials = [...(withSet ? SET_VALUES : stack === "prod" ? [TEST_SECRETS["ems-infra:ghcrToken"]] : []), ...generated];
  });

  test("the credentials are the ones set in config plus the generated ones, and they do reach the containers", () => {
    // The initdb bootstrap password is always generated: nobody sets or needs it.
    const expected = withSet
      ? ["credentials-postgres-bootstrap-password", "credentials-sms-api-key", "credentials-sms-jwt-key"]
      : ["credentials-ems-api-key", "credentials-ems-jwt-key", "credentials-postgres-bootstrap-password", "credentials-postgres-password", "credentials-sms-api-key", "credentials-sms-jwt-key"];
    expect(run.ofType(T.randomPassword).map((r) => r.name).sort()).toEqual(expected);
    const wire = JSON.stringify(run.resources.map((r) => r.inputs));
    // Sanity: the check below would see them (a changed mock formula must not make it pass vacuously).
    for (const c of credentials) expect(wire).toContain(c);
  });

  test("every resource property holding a credential is a Pulumi secret", async () => {
    expect(await plainCredentialProps(run, credentials)).toEqual([]);
  });

  test("the engine receives every credential inside a secret envelope, never in plain text", () => {
    expect(plainCredentialInputs(run, credentials)).toEqual([]);
  });

  test("no stack output contains a credential", () => {
    const outputs = JSON.stringify(run.outputs);
    expect(outputs.length).toBeGreaterThan(100);
    for (const c of credentials) expect(outputs).not.toContain(c);
  });

  test("the checks catch a leak: a container env holding a credential is flagged when not secret", async () => {
    const leaky = { ...run, resources: [{ type: T.container, name: "leaky", custom: true, inputs: { envs: [`DB_PASSWORD=${credentials[1]}`] }, props: { envs: [`DB_PASSWORD=${credentials[1]}`] }, opts: {} }] } as StackRun;
    expect(await plainCredentialProps(leaky, credentials)).toEqual([`${T.container} leaky: envs`]);
    expect(plainCredentialInputs(leaky, credentials)).toEqual([`${T.container} leaky.envs.0`]);
  });
});

describe("credentials stored in plain text are refused", () => {
  test("a Postgres password set without --secret stops the prod run with the exact message, without echoing the value", async () => {
    const failed = await runFailingStack("prod", { ...committedConfig("prod"), ...TEST_SECRETS, "ems-infra:postgresPassword": "plain-Password-0123456789" }, Object.keys(TEST_SECRETS));
    const message = runErrorMessage(failed);
    expect(message).toBe(
      [
        "Invalid configuration (1 problem):",
        "  - ems-infra:postgresPassword: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ems-infra:postgresPassword <value> --stack prod",
        '(stack "prod")',
      ].join("\n"),
    );
    expect(message).not.toContain("plain-Password-0123456789");
    expect(failed.registered).toEqual([]);
  });

  test("every credential key set in plain text is listed in one error (dev stack)", async () => {
    const plain: Record<string, string> = {
      "ems-infra:ghcrToken": "ghp_plain0123456789",
      "ems-infra:postgresPassword": "plain-Password-0123456789",
      "ems-infra:serviceSecrets": JSON.stringify({ ems: { jwtKey: "x".repeat(40) } }),
      "ems-infra:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----plain",
      "ems-infra:dashboardPassword": "plain-dashboard-pass",
    };
    expect(Object.keys(plain).sort()).toEqual(SECRET_KEYS.map((k) => `ems-infra:${k}`).sort());
    const failed = await runFailingStack("dev", { ...committedConfig("dev"), ...plain }, []);
    const message = runErrorMessage(failed);
    const lines = SECRET_KEYS.map(
      (k) => `  - ems-infra:${k}: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ems-infra:${k} <value> --stack dev`,
    );
    expect(message).toBe([`Invalid configuration (${SECRET_KEYS.length} problems):`, ...lines, '(stack "dev")'].join("\n"));
    for (const value of Object.values(plain)) expect(message).not.toContain(value);
    expect(failed.registered).toEqual([]);
  });
});

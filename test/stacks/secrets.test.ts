/**
 * No credential reaches a resource input, a label or a stack output unless it is a Pulumi secret: the GHCR
 * token, the dashboard password (and its bcrypt entry), the Postgres password, each service's JWT/API keys,
 * database password, e-mail key and secret env set in config, and the generated ones.
 */
import * as pulumi from "@pulumi/pulumi";
import { SECRET_KEYS, StackConfig } from "../../stacks/config";
import { loadStackConfig } from "../../stacks/load";
import { deployStack } from "../../stacks/select";
import { shellQuote } from "../../components/shell";
import { htpasswdEntry } from "../../components/traefikDashboard";
import {
  committedConfig,
  emulateAdditionalSecretOutputs,
  finder,
  isSecretInput,
  mockRandomPassword,
  recordUnderMocks,
  StackOutputs,
  StackRun,
  T,
  TEST_SECRETS,
} from "../support";
import {
  allStrings,
  deepUnsecret,
  hostCommandOf,
  isSecretEnvelope,
  resolveInput,
  runErrorMessage,
  runFailingStack,
  secretsOf,
} from "./helpers";

const EMS = {
  jwtKey: "jwt-ems-0123456789abcdefghijklmnopqrstuv",
  apiKey: "api-ems-0123456789ab",
  dbPassword: "db-ems-Pass'word-0123",
  emailApiKey: "re_email_ems_0123456789",
  env: { PAYMENT_GATEWAY_TOKEN: "pgw-ems-secret-0123456789" },
};
const OFFSITE = {
  repository: "s3:https://s3.example.net/ems-backups",
  password: "restic-Password-0123456789",
  env: { AWS_ACCESS_KEY_ID: "AKIA-offsite-0123456789", AWS_SECRET_ACCESS_KEY: "aws-Secret-0123456789abcdef" },
};
const SET = {
  "ems-infra:postgresPassword": "pg-Rotated-Secret-0123456789",
  "ems-infra:serviceSecrets": JSON.stringify({ ems: EMS }),
  "ems-infra:backupOffsite": JSON.stringify(OFFSITE),
};
const SET_VALUES = [
  SET["ems-infra:postgresPassword"],
  EMS.jwtKey,
  EMS.apiKey,
  EMS.dbPassword,
  EMS.emailApiKey,
  EMS.env.PAYMENT_GATEWAY_TOKEN,
  OFFSITE.repository,
  OFFSITE.password,
  OFFSITE.env.AWS_ACCESS_KEY_ID,
  OFFSITE.env.AWS_SECRET_ACCESS_KEY,
];
const SECRET_KEY_LIST = [...Object.keys(TEST_SECRETS), ...Object.keys(SET)];

/** The value the mock gives a RandomPassword (test/support/mockRuntime.ts), from its recorded inputs. */
function generatedResult(r: { type: string; name: string; inputs: Record<string, unknown> }): string {
  return mockRandomPassword(r.type, r.name, r.inputs);
}

/** runStack's run, and the stack's outputs as the program returned them (Outputs, so their secrecy can be read). */
async function runStackWithOutputs(
  stack: string,
  config: Record<string, string>,
  secretKeys: string[],
): Promise<{ run: StackRun; returned: Record<string, unknown> }> {
  let cfg: StackConfig | undefined;
  let returned: Record<string, unknown> = {};
  const { resources, outputs } = await recordUnderMocks({
    stack,
    config,
    secretKeys,
    build: () => (returned = deployStack((cfg = loadStackConfig())) as unknown as Record<string, unknown>),
    outputsOf: (result) => result,
  });
  return { run: { config: cfg!, resources, outputs: outputs as StackOutputs, ...finder(resources) }, returned };
}

/** Stack outputs (paths) whose value holds a credential without being a secret. */
async function plainCredentialOutputs(returned: Record<string, unknown>, credentials: string[]): Promise<string[]> {
  const leaks: string[] = [];
  const walk = async (where: string, value: unknown): Promise<void> => {
    if (value && typeof value === "object" && !pulumi.Output.isInstance(value)) {
      for (const [k, v] of Object.entries(value)) await walk(`${where}.${k}`, v);
      return;
    }
    const text = allStrings(await resolveInput(value)).join("\n");
    if (credentials.some((c) => text.includes(c)) && !(await isSecretInput(value))) leaks.push(where);
  };
  for (const [k, v] of Object.entries(returned)) await walk(k, v);
  return leaks;
}

/** Resource properties (as passed to the constructor) that hold a credential without being secret. */
async function plainCredentialProps(run: StackRun, credentials: string[]): Promise<string[]> {
  const leaks: string[] = [];
  for (const r of run.resources) {
    for (const [key, value] of Object.entries(r.props ?? {})) {
      if (value === undefined) continue;
      const text = allStrings(await resolveInput(value)).join("\n");
      if (credentials.some((c) => text.includes(c)) && !(await isSecretInput(value)))
        leaks.push(`${r.type} ${r.name}: ${key}`);
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
  let returned: Record<string, unknown>;
  /** Every credential of the run: none may appear outside a secret. */
  let credentials: string[];
  /** The ones that do reach a resource (the dashboard password reaches none: only its bcrypt entry does). */
  let onWire: string[];
  beforeAll(async () => {
    const config = {
      ...committedConfig(stack),
      ...(stack === "prod" || withSet ? TEST_SECRETS : {}),
      ...(withSet ? SET : {}),
    };
    ({ run, returned } = await runStackWithOutputs(stack, config, SECRET_KEY_LIST));
    const generated = run
      .ofType(T.randomPassword)
      .filter((r) => r.name !== "credentials-dashboard-salt")
      .map(generatedResult);
    const salt = run.ofType(T.randomPassword).find((r) => r.name === "credentials-dashboard-salt");
    // Prod serves the dashboard behind basic auth: its bcrypt entry is as secret as the password.
    const dashboardEntry = salt
      ? [htpasswdEntry("admin", TEST_SECRETS["ems-infra:dashboardPassword"], generatedResult(salt))]
      : [];
    const ghcr = stack === "prod" || withSet ? [TEST_SECRETS["ems-infra:ghcrToken"]] : [];
    onWire = [...ghcr, ...(withSet ? SET_VALUES : []), ...generated, ...dashboardEntry];
    const all = [...onWire, ...(stack === "prod" || withSet ? [TEST_SECRETS["ems-infra:dashboardPassword"]] : [])];
    // A value in a script (the databases command's stdin) is shell-quoted: that form is the credential too.
    credentials = [...new Set([...all, ...all.map(shellQuote)])];
  });

  test("the credentials are the ones set in config plus the generated ones, and they do reach the resources", () => {
    // The initdb bootstrap password is always generated: nobody sets or needs it.
    const perService = (svc: string, given: boolean) =>
      given ? [] : [`credentials-${svc}-api-key`, `credentials-${svc}-db-password`, `credentials-${svc}-jwt-key`];
    const expected = [
      ...perService("ems", withSet),
      ...(stack === "prod" ? ["credentials-dashboard-salt"] : []),
      "credentials-postgres-bootstrap-password",
      ...(withSet ? [] : ["credentials-postgres-password"]),
      ...perService("sms", false),
    ].sort();
    expect(
      run
        .ofType(T.randomPassword)
        .map((r) => r.name)
        .sort(),
    ).toEqual(expected);
    const wire = JSON.stringify(run.resources.map((r) => r.inputs));
    // Sanity: the checks below would see them (a changed mock formula must not make them pass vacuously).
    for (const c of onWire) expect(wire).toContain(JSON.stringify(c).slice(1, -1));
    if (stack === "prod") expect(onWire.some((c) => c.startsWith("admin:$2a$10$"))).toBe(true);
  });

  test("every resource property holding a credential is a Pulumi secret", async () => {
    expect(await plainCredentialProps(run, credentials)).toEqual([]);
  });

  test("the engine receives every credential inside a secret envelope, never in plain text (labels, envs, stdin included)", () => {
    expect(plainCredentialInputs(run, credentials)).toEqual([]);
  });

  test("the API containers' envs and labels hold no credential; the credentials are in their secret secrets.env upload", () => {
    for (const name of ["ems", "sms"]) {
      const c = run.get(T.container, name);
      const visible = JSON.stringify([c.inputs.envs, c.inputs.labels]);
      for (const cred of credentials) expect(visible).not.toContain(cred);
      expect(isSecretEnvelope(c.inputs.envs)).toBe(false);
      expect(Object.keys(secretsOf(c)).sort()).toEqual(
        withSet && name === "ems"
          ? ["API_KEY", "DB_PASS", "EMAIL_SERVICE_API_KEY", "JWT_KEY", "PAYMENT_GATEWAY_TOKEN"]
          : ["API_KEY", "DB_PASS", "JWT_KEY"],
      );
    }
    if (withSet)
      expect(secretsOf(run.get(T.container, "ems"))).toMatchObject({
        JWT_KEY: EMS.jwtKey,
        API_KEY: EMS.apiKey,
        DB_PASS: EMS.dbPassword,
        EMAIL_SERVICE_API_KEY: EMS.emailApiKey,
        ...EMS.env,
      });
  });

  test("the databases command's stdin (every role password) and the dynamic-config command's stdin (the dashboard's entry) are secrets", async () => {
    const databases = hostCommandOf(run, "postgres-databases");
    expect(isSecretEnvelope(databases.inputs.stdin)).toBe(true);
    expect(await isSecretInput(databases.props.stdin)).toBe(true);
    const passwords = ["ems", "sms"].map((svc) => secretsOf(run.get(T.container, svc)).DB_PASS);
    for (const p of passwords) expect(String(deepUnsecret(databases.inputs.stdin))).toContain(shellQuote(p));
    const traefik = hostCommandOf(run, "traefik-dynamic-config");
    expect(isSecretEnvelope(traefik.inputs.stdin)).toBe(true);
    expect(await isSecretInput(traefik.props.stdin)).toBe(true);
    if (stack === "prod") expect(String(deepUnsecret(traefik.inputs.stdin))).toContain("admin:$2a$10$");
  });

  test("no stack output holds a credential unless it is a secret (the engine stores and shows it as [secret])", async () => {
    expect(Object.keys(run.outputs).length).toBeGreaterThan(5);
    expect(await plainCredentialOutputs(returned, credentials)).toEqual([]);
    // The check reads the outputs: a plain one holding a credential is flagged.
    expect(
      await plainCredentialOutputs(
        { ...returned, leaky: { nested: pulumi.output(`key=${credentials[0]}`) } },
        credentials,
      ),
    ).toEqual(["leaky.nested"]);
  });

  test("the checks catch a leak: a container env holding a credential is flagged when not secret", async () => {
    const leaky = {
      ...run,
      resources: [
        {
          type: T.container,
          name: "leaky",
          custom: true,
          inputs: { envs: [`DB_PASS=${credentials[1]}`] },
          props: { envs: [`DB_PASS=${credentials[1]}`] },
          opts: {},
        },
      ],
    } as StackRun;
    expect(await plainCredentialProps(leaky, credentials)).toEqual([`${T.container} leaky: envs`]);
    expect(plainCredentialInputs(leaky, credentials)).toEqual([`${T.container} leaky.envs.0`]);
  });
});

describe("credentials stored in plain text are refused", () => {
  test("a Postgres password set without --secret stops the prod run with the exact message, without echoing the value", async () => {
    const failed = await runFailingStack(
      "prod",
      { ...committedConfig("prod"), ...TEST_SECRETS, "ems-infra:postgresPassword": "plain-Password-0123456789" },
      Object.keys(TEST_SECRETS),
    );
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
      "ems-infra:dashboardPassword": "plain-dashboard-pass",
      "ems-infra:backupOffsite": JSON.stringify({ repository: "/srv/restic", password: "plain-restic-pass" }),
    };
    expect(Object.keys(plain).sort()).toEqual(SECRET_KEYS.map((k) => `ems-infra:${k}`).sort());
    const failed = await runFailingStack("dev", { ...committedConfig("dev"), ...plain }, []);
    const message = runErrorMessage(failed);
    const lines = SECRET_KEYS.map(
      (k) =>
        `  - ems-infra:${k}: is a credential stored in plain text; remove it and set it with: pulumi config set --secret ems-infra:${k} <value> --stack dev`,
    );
    expect(message).toBe(
      [`Invalid configuration (${SECRET_KEYS.length} problems):`, ...lines, '(stack "dev")'].join("\n"),
    );
    for (const value of Object.values(plain)) expect(message).not.toContain(value);
    expect(failed.registered).toEqual([]);
  });
});

/** The Credentials component alone: given values are used (as secrets), missing ones are generated. */
import * as pulumi from "@pulumi/pulumi";
import { Credentials } from "../../components/credentials";
import { runComponents, urnOf } from "../support/componentHarness";
import { T, isSecretInput, unwrap } from "../support/stackHarness";
import { typeOfUrn } from "../stacks/invariants";

test("values given are used as they are, as secrets, and nothing is generated for them but the initdb bootstrap password", async () => {
  const run = await runComponents(
    () =>
      new Credentials("credentials", {
        postgresPassword: "given-postgres-password",
        services: [{ name: "ems", jwtKey: pulumi.output("given-jwt-key-0123456789abcdefghijkl"), apiKey: "given-api-key-0123" }],
      }),
  );
  expect(run.ofType(T.randomPassword).map((r) => r.name)).toEqual(["credentials-postgres-bootstrap-password"]);
  const { postgresPassword, postgresBootstrapPassword, services } = run.result;
  expect(await unwrap(postgresBootstrapPassword)).toMatch(/^generated-credentials-postgres-bootstrap-password-/);
  expect(await isSecretInput(postgresBootstrapPassword)).toBe(true);
  expect(await unwrap(postgresPassword)).toBe("given-postgres-password");
  expect(await unwrap(services.ems.jwtKey)).toBe("given-jwt-key-0123456789abcdefghijkl");
  expect(await unwrap(services.ems.apiKey)).toBe("given-api-key-0123");
  // Even a plain value handed in comes out secret.
  for (const o of [postgresPassword, services.ems.jwtKey, services.ems.apiKey]) expect(await isSecretInput(o)).toBe(true);
});

test("missing values are generated as RandomPasswords (32/64/40 characters, no specials), secret, under the component", async () => {
  const run = await runComponents(() => new Credentials("credentials", { services: [{ name: "ems" }, { name: "sms", apiKey: "given-sms-api-key-01" }] }));
  const generated = Object.fromEntries(run.ofType(T.randomPassword).map((r) => [r.name, r.inputs]));
  expect(generated).toEqual({
    "credentials-postgres-password": { length: 32, special: false },
    "credentials-postgres-bootstrap-password": { length: 32, special: false },
    "credentials-ems-jwt-key": { length: 64, special: false },
    "credentials-ems-api-key": { length: 40, special: false },
    "credentials-sms-jwt-key": { length: 64, special: false },
  });
  for (const r of run.ofType(T.randomPassword)) expect(typeOfUrn(await urnOf(r.opts.parent!))).toBe("ems:infra:Credentials");

  const { postgresPassword, services } = run.result;
  expect(await unwrap(postgresPassword)).toMatch(/^generated-credentials-postgres-password-/);
  expect(await unwrap(services.sms.jwtKey)).toMatch(/^generated-credentials-sms-jwt-key-/);
  expect(await unwrap(services.sms.apiKey)).toBe("given-sms-api-key-01");
  for (const o of [postgresPassword, services.ems.jwtKey, services.ems.apiKey, services.sms.jwtKey, services.sms.apiKey]) {
    expect(await isSecretInput(o)).toBe(true);
  }
});

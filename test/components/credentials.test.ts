/** The Credentials component alone: given values are used (as secrets), missing ones are generated. */
import * as pulumi from "@pulumi/pulumi";
import { Credentials } from "../../components/credentials";
import { isSecretInput, runComponents, T, unwrap, urnOf } from "../support";
import { typeOfUrn } from "../stacks/invariants";

test("values given are used as they are, as secrets, and nothing is generated for them but the initdb bootstrap password", async () => {
  const run = await runComponents(
    () =>
      new Credentials("credentials", {
        postgresPassword: "given-postgres-password",
        services: [
          {
            name: "ems",
            jwtKey: pulumi.output("given-jwt-key-0123456789abcdefghijkl"),
            apiKey: "given-api-key-0123",
            dbPassword: "given-ems-db-password",
          },
        ],
      }),
  );
  expect(run.ofType(T.randomPassword).map((r) => r.name)).toEqual(["credentials-postgres-bootstrap-password"]);
  const { postgresPassword, postgresBootstrapPassword, services, dashboardSalt } = run.result;
  expect(await unwrap(postgresBootstrapPassword)).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(await isSecretInput(postgresBootstrapPassword)).toBe(true);
  expect(await unwrap(postgresPassword)).toBe("given-postgres-password");
  expect(await unwrap(services.ems.jwtKey)).toBe("given-jwt-key-0123456789abcdefghijkl");
  expect(await unwrap(services.ems.apiKey)).toBe("given-api-key-0123");
  expect(await unwrap(services.ems.dbPassword)).toBe("given-ems-db-password");
  expect(dashboardSalt).toBeUndefined();
  // Even a plain value handed in comes out secret.
  for (const o of [postgresPassword, services.ems.jwtKey, services.ems.apiKey, services.ems.dbPassword])
    expect(await isSecretInput(o)).toBe(true);
});

test("missing values are generated as RandomPasswords (letters and digits only, fixed lengths), secret, under the component", async () => {
  const run = await runComponents(
    () =>
      new Credentials("credentials", {
        services: [{ name: "ems" }, { name: "sms", apiKey: "given-sms-api-key-01" }],
        dashboardSalt: true,
      }),
  );
  const generated = Object.fromEntries(run.ofType(T.randomPassword).map((r) => [r.name, r.inputs]));
  expect(generated).toEqual({
    "credentials-postgres-password": { length: 32, special: false },
    "credentials-postgres-bootstrap-password": { length: 32, special: false },
    "credentials-ems-jwt-key": { length: 64, special: false },
    "credentials-ems-api-key": { length: 40, special: false },
    "credentials-ems-db-password": { length: 32, special: false },
    "credentials-sms-jwt-key": { length: 64, special: false },
    "credentials-sms-db-password": { length: 32, special: false },
    "credentials-dashboard-salt": { length: 22, special: false },
  });
  for (const r of run.ofType(T.randomPassword))
    expect(typeOfUrn(await urnOf(r.opts.parent!))).toBe("ems:infra:Credentials");

  const { postgresPassword, services, dashboardSalt } = run.result;
  expect(await unwrap(postgresPassword)).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(await unwrap(services.ems.jwtKey)).toMatch(/^[A-Za-z0-9]{64}$/);
  expect(await unwrap(services.ems.apiKey)).toMatch(/^[A-Za-z0-9]{40}$/);
  expect(await unwrap(services.sms.dbPassword)).toMatch(/^[A-Za-z0-9]{32}$/);
  expect(await unwrap(services.sms.apiKey)).toBe("given-sms-api-key-01");
  // 22 characters of bcrypt's salt alphabet: htpasswdEntry accepts it.
  expect(await unwrap(dashboardSalt!)).toMatch(/^[./A-Za-z0-9]{22}$/);
  // Each generated value is its own.
  const values = await Promise.all([postgresPassword, services.ems.dbPassword, services.sms.dbPassword].map(unwrap));
  expect(new Set(values).size).toBe(3);
  for (const o of [
    postgresPassword,
    services.ems.jwtKey,
    services.ems.apiKey,
    services.ems.dbPassword,
    services.sms.jwtKey,
    services.sms.apiKey,
    dashboardSalt!,
  ]) {
    expect(await isSecretInput(o)).toBe(true);
  }
});

/** The dashboard's basic-auth entry (bcrypt, as today's VPS) and its file-provider router. */
import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { DynamicConfig, dashboardDynamicConfig, htpasswdEntry } from "../../components/traefikDashboard";
import { isSecretInput, runComponents, unwrap, validateDynamic } from "../support";

const PASSWORD = "dashboard-Pass'word $HOME 0123";
const SALT = "abcdefghijklmnopqrstuu";
const OTHER_SALT = "ZYXWVUTSRQPONMLKJIHGFe";

describe("htpasswdEntry", () => {
  test("is user:<bcrypt $2a$10$ hash> that bcrypt accepts for the password, and only for it", () => {
    const entry = htpasswdEntry("admin", PASSWORD, SALT);
    expect(entry).toMatch(/^admin:\$2a\$10\$[./A-Za-z0-9]{53}$/);
    const hash = entry.slice("admin:".length);
    expect(bcrypt.compareSync(PASSWORD, hash)).toBe(true);
    expect(bcrypt.compareSync(`${PASSWORD}x`, hash)).toBe(false);
    expect(bcrypt.getRounds(hash)).toBe(10);
  });

  test("is the same for the same salt (the file is not rewritten on every run), different for another salt", () => {
    expect(htpasswdEntry("admin", PASSWORD, SALT)).toBe(htpasswdEntry("admin", PASSWORD, SALT));
    const other = htpasswdEntry("admin", PASSWORD, OTHER_SALT);
    expect(other).not.toBe(htpasswdEntry("admin", PASSWORD, SALT));
    expect(bcrypt.compareSync(PASSWORD, other.slice("admin:".length))).toBe(true);
  });

  test.each(["short", `${SALT}x`, "abcdefghijklmnopqrstu$", "abcdefghijklmnopqrstu+", ""])(
    "the salt %j is refused",
    (salt) => {
      expect(() => htpasswdEntry("admin", PASSWORD, salt)).toThrow(
        "htpasswdEntry: the salt must be 22 characters of bcrypt's alphabet",
      );
    },
  );
});

describe("dashboardDynamicConfig", () => {
  test("with auth: a router on its host to api@internal behind the bcrypt basic-auth middleware, as a secret", async () => {
    const run = await runComponents(() =>
      dashboardDynamicConfig({
        host: "traefik.edumigsoft.com.br",
        certResolver: "ems_system_resolver",
        auth: { user: "admin", password: pulumi.secret(PASSWORD), salt: SALT },
      }),
    );
    expect(await isSecretInput(run.result)).toBe(true);
    const config: DynamicConfig = await unwrap(run.result);
    expect(config).toEqual({
      http: {
        routers: {
          dashboard: {
            rule: "Host(`traefik.edumigsoft.com.br`)",
            entryPoints: ["websecure"],
            service: "api@internal",
            tls: { certResolver: "ems_system_resolver" },
            // Security headers and the login throttle come before the password check.
            middlewares: ["security-headers@file", "admin-ratelimit@file", "dashboard-auth"],
          },
        },
        middlewares: { "dashboard-auth": { basicAuth: { users: [htpasswdEntry("admin", PASSWORD, SALT)] } } },
      },
    });
    expect(validateDynamic(config)).toEqual([]);
    expect(JSON.stringify(config)).not.toContain(PASSWORD);
  });

  test("the password given as a plain string still makes a secret", async () => {
    const run = await runComponents(() =>
      dashboardDynamicConfig({
        host: "traefik.edumigsoft.com.br",
        auth: { user: "admin", password: PASSWORD, salt: SALT },
      }),
    );
    expect(await isSecretInput(run.result)).toBe(true);
  });

  test("without auth (the laptop): the router with the headers and the throttle, TLS from the file certificate, not a secret", async () => {
    const run = await runComponents(() => dashboardDynamicConfig({ host: "traefik.local" }));
    expect(await isSecretInput(run.result)).toBe(false);
    const config = await unwrap(run.result);
    expect(config).toEqual({
      http: {
        routers: {
          dashboard: {
            rule: "Host(`traefik.local`)",
            entryPoints: ["websecure"],
            service: "api@internal",
            middlewares: ["security-headers@file", "admin-ratelimit@file"],
            tls: {},
          },
        },
      },
    });
    expect(validateDynamic(config)).toEqual([]);
  });
});

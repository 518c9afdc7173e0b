import * as bcrypt from "bcryptjs";
import * as pulumi from "@pulumi/pulumi";
import { ADMIN_MIDDLEWARES, ENTRYPOINT_WEBSECURE } from "./traefikConfig";

/** Traefik's dashboard: its host, and for production a basic-auth user whose password is a secret. */
export interface TraefikDashboard {
  /** Host name, e.g. traefik.edumigsoft.com.br. */
  host: string;
  /** Certificate resolver of the router, absent for files (mkcert). */
  certResolver?: string;
  /** Basic auth; absent serves the dashboard without a password (the laptop). */
  auth?: { user: string; password: pulumi.Input<string>; salt: pulumi.Input<string> };
}

/** A dynamic-configuration document (YAML for the file provider). */
export type DynamicConfig = { http: Record<string, unknown> };

/** bcrypt's cost: 10, as today's VPS hash (`$2a$10$…`). */
const BCRYPT_COST = 10;

/**
 * A bcrypt htpasswd entry. The salt is kept in the stack (22 characters of bcrypt's alphabet): the same
 * password gives the same entry on every run, so the file is not rewritten by every `pulumi up`.
 */
export function htpasswdEntry(user: string, password: string, salt: string): string {
  if (!/^[./A-Za-z0-9]{22}$/.test(salt))
    throw new Error("htpasswdEntry: the salt must be 22 characters of bcrypt's alphabet");
  // A ':' or a line break would end the user name or the entry.
  if (!/^[A-Za-z0-9._-]+$/.test(user))
    throw new Error(`htpasswdEntry: the user ${JSON.stringify(user)} must be letters, digits, . _ -`);
  return `${user}:${bcrypt.hashSync(password, `$2a$${BCRYPT_COST}$${salt}`)}`;
}

/** The dashboard's router (and basic-auth middleware) for the file provider: a secret when it holds a hash. */
export function dashboardDynamicConfig(dashboard: TraefikDashboard): pulumi.Output<DynamicConfig> {
  const router = {
    rule: `Host(\`${dashboard.host}\`)`,
    entryPoints: [ENTRYPOINT_WEBSECURE],
    service: "api@internal",
    // Security headers and a login throttle, before the password check.
    middlewares: ADMIN_MIDDLEWARES,
    tls: dashboard.certResolver ? { certResolver: dashboard.certResolver } : {},
  };
  if (!dashboard.auth)
    return pulumi.output("").apply((): DynamicConfig => ({ http: { routers: { dashboard: router } } }));
  const { user, password, salt } = dashboard.auth;
  // The password is a secret, so is everything made from it.
  return pulumi.all([pulumi.secret(password), salt]).apply(([p, s]): DynamicConfig => ({
    http: {
      routers: { dashboard: { ...router, middlewares: [...ADMIN_MIDDLEWARES, "dashboard-auth"] } },
      middlewares: { "dashboard-auth": { basicAuth: { users: [htpasswdEntry(user, p, s)] } } },
    },
  }));
}

/** Where each secret lives (a generator in the state, or a config key) and how a new value is made. */
import * as crypto from "crypto";
import type { Deployment } from "@pulumi/pulumi/automation";
import { UsageError } from "./runner/args";

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
export function generators(state: Deployment): string[] {
  const resources = (state.deployment as { resources?: Array<{ urn: string; type: string }> }).resources ?? [];
  return resources.filter((r) => r.type === RANDOM_PASSWORD).map((r) => r.urn.slice(r.urn.lastIndexOf("::") + 2));
}

/** A new random value like the program's generators (letters and digits). */
export function newSecretValue(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from({ length }, () => alphabet[crypto.randomInt(alphabet.length)]).join("");
}

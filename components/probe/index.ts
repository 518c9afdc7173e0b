/**
 * ems-run, our static launcher and healthcheck probe for the EMS/SMS API images (FROM scratch: no shell,
 * no wget, no curl). The program uploads it into each API container at EMS_RUN_PATH, makes it the
 * entrypoint (it loads the credentials from SECRETS_ENV_PATH, so `docker inspect` shows none in Env) and
 * the exec-form healthcheck (`ems-run --probe PORT PATH`, sending the x-api-key the health route needs).
 * Source and rebuild: ems-run.c, build.sh, README.md in this folder.
 */
import * as fs from "fs";
import * as path from "path";

/** Where the binary is uploaded in the API containers. */
export const EMS_RUN_PATH = "/run/ems/ems-run";
/** Where the credentials file is uploaded; ems-run reads it at start and for every probe. */
export const SECRETS_ENV_PATH = "/run/ems/secrets.env";
/** Mode of an uploaded credentials file: its owner (root in the container) reads it, nobody else. */
export const SECRET_FILE_MODE = "0400";
/** The committed build of ems-run.c (x86_64 Linux, static). */
export const EMS_RUN_BINARY = path.join(__dirname, "ems-run.amd64");

const NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The committed binary, base64 (the provider's `uploads[].contentBase64`). */
export function emsRunBase64(): string {
  return fs.readFileSync(EMS_RUN_BINARY).toString("base64");
}

/**
 * The secrets file ems-run loads: `NAME=value` lines, sorted by name. Throws for a name ems-run would
 * refuse or a value with a newline, CR or NUL (it would split or end the line); the message names the
 * variable, never the value.
 */
export function secretsEnvFile(vars: Record<string, string>): string {
  return Object.keys(vars)
    .sort()
    .map((name) => {
      if (!NAME.test(name))
        throw new Error(`secrets.env: variable name ${JSON.stringify(name)} must match ${NAME.source}`);
      const value = vars[name];
      if (typeof value !== "string") throw new Error(`secrets.env: the value of ${name} is not a string`);
      if (/[\n\r\0]/.test(value))
        throw new Error(`secrets.env: the value of ${name} contains a newline, carriage return or NUL`);
      return `${name}=${value}\n`;
    })
    .join("");
}

/** The exec-form healthcheck `tests` probing the API's health path on its port. */
export function probeHealthcheckTests(port: number, healthPath: string): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`probe port ${port} must be an integer 1-65535`);
  if (!healthPath.startsWith("/") || /[\s]/.test(healthPath))
    throw new Error(`probe path ${JSON.stringify(healthPath)} must start with / and have no spaces`);
  return ["CMD", EMS_RUN_PATH, "--probe", String(port), healthPath, "--accept-rate-limited"];
}

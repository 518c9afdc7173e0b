import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { reveal, revealArray } from "../lib";

const HARDENING_MESSAGES = {
  restart: 'The container must set a restart policy other than "no".',
  healthcheck: "The container must define a healthcheck with tests.",
  logging: "The container must log with the json-file or local driver and set the max-size and max-file log options.",
  noNewPrivileges: 'The container must set securityOpts "no-new-privileges:true".',
  memory: "The container must set a memory limit.",
} as const;

const NO_NEW_PRIVILEGES = new Set(["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"]);

/**
 * 6. container-hardening: every container has `restart` (set, not "no"), a `healthcheck` whose `tests`
 * is non-empty and not ["NONE"], `logDriver` json-file or local with `logOpts` max-size and max-file,
 * `securityOpts` containing no-new-privileges (`:true`, `=true` or bare, as Docker accepts), and a
 * positive `memory`. One violation per missing item.
 */
export const containerHardening: ResourceValidationPolicy = {
  name: "container-hardening",
  description:
    "Containers restart, are health-checked, rotate their logs, forbid privilege escalation and have a memory limit.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(docker.Container, (c, _args, reportViolation) => {
    const restart = reveal(c.restart);
    if (typeof restart !== "string" || restart === "" || restart === "no") reportViolation(HARDENING_MESSAGES.restart);

    const tests = revealArray(reveal(c.healthcheck)?.tests);
    if (tests.length === 0 || tests[0] === "NONE") reportViolation(HARDENING_MESSAGES.healthcheck);

    const logDriver = reveal(c.logDriver);
    const logOpts = reveal(c.logOpts) ?? {};
    if ((logDriver !== "json-file" && logDriver !== "local") || !logOpts["max-size"] || !logOpts["max-file"]) {
      reportViolation(HARDENING_MESSAGES.logging);
    }

    const securityOpts = revealArray(c.securityOpts).map((o) => String(o).trim());
    if (!securityOpts.some((o) => NO_NEW_PRIVILEGES.has(o))) reportViolation(HARDENING_MESSAGES.noNewPrivileges);

    const memory = Number(reveal(c.memory));
    if (!(memory > 0)) reportViolation(HARDENING_MESSAGES.memory);
  }),
};

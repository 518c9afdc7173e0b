/** Reaching a service's data from `npm run exec`: psql as the superuser or as a service's role, and what the API images cannot do. */
import { defaultDatabase, defaultRole } from "../stacks/config";
import { SERVICES_KEY } from "./rollbackPlan";
import type { StackLike } from "./runner/context";
import { configObject, environmentOf } from "./runner/stackConfig";

/** Postgres connection of a service: its role and database, with the program's defaults. */
async function serviceDatabase(stack: StackLike, service: string): Promise<{ role: string; database: string }> {
  const services = (await configObject(stack, "services")) ?? {};
  const entry = services[service];
  if (typeof entry !== "object" || entry === null) {
    throw new Error(
      `--as ${service}: no such service in ${SERVICES_KEY} of stack ${stack.name} (known: ${Object.keys(services).sort().join(", ") || "none"})`,
    );
  }
  const s = entry as { role?: unknown; database?: unknown };
  return {
    role: typeof s.role === "string" ? s.role : defaultRole(service),
    database: typeof s.database === "string" ? s.database : defaultDatabase(service, await environmentOf(stack)),
  };
}

/** What the API images cannot do, said plainly. */
export function noShellMessage(service: string, stack: string): string {
  return (
    `the ${service} image is FROM scratch: no shell and no tools to exec; use \`npm run logs -- --stack ${stack} --service ${service}\` ` +
    `for its output, \`npm run status -- --stack ${stack}\` for its health, or \`npm run exec -- --stack ${stack} --service postgres --as ${service}\` for its data`
  );
}

/**
 * The command to run in the Postgres container: psql (bare, or given without -U) connects as the superuser
 * (`ems-infra:postgres.user`, default postgres) to postgres, or with `as` as that service's role to its database.
 */
export async function postgresCommand(stack: StackLike, command: readonly string[], as?: string): Promise<string[]> {
  const psql = command.length === 0 || (command[0] === "psql" && !command.includes("-U"));
  if (!psql) return [...command];
  const superuser = (await configObject(stack, "postgres"))?.user;
  const { role, database } = as
    ? await serviceDatabase(stack, as)
    : { role: typeof superuser === "string" ? superuser : "postgres", database: "postgres" };
  return ["psql", "-U", role, "-d", database, ...command.slice(command[0] === "psql" ? 1 : 0)];
}

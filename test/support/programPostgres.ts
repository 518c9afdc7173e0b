/**
 * The program's own PostgreSQL for the Docker suites whose APIs log in (the `-pg` stand-ins, real-system.md §6):
 * its container spec created through the Engine API with only the image replaced by ems-test/postgres:15, and its
 * databases command (`docker exec -i <container> sh -s` fed ensure-databases.sh) run as the command provider runs
 * it, so the roles, databases and passwords are the ones a deploy leaves.
 */
import { ContainerInputs, check, CommandResult, docker, DockerScratch, IMAGES, plain, run } from "./dockerEngine";
import { T } from "./resourceTypes";
import type { StackRun } from "./stackHarness";

export interface ProgramPostgres {
  /** This run's name of the Postgres container. */
  container: string;
  /** Runs the databases command a stack registers (the first deploy, or a rotation's new passwords). */
  ensureDatabases(stack: StackRun): CommandResult;
  /** SQL as the superuser over the container's socket; unaligned, tuples only. */
  psql(sql: string, database?: string): string;
  /** The addresses holding a session of `role` on `database` (pg_stat_activity), sorted. */
  sessionAddresses(role: string, database: string): string[];
}

/**
 * Waits until a container of ems-test/postgres:15 accepts connections over TCP, which only the final server does:
 * initdb's temporary one listens on the socket only, and is stopped afterwards.
 */
export async function waitForPostgresOverTcp(
  container: string,
  options: { user?: string; socket?: string; timeoutMs?: number } = {},
): Promise<void> {
  const engine = options.socket ? ["-H", `unix://${options.socket}`] : [];
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  const ready = ["exec", container, "pg_isready", "-q", "-h", "127.0.0.1", "-U", options.user ?? "postgres"];
  while (run("docker", [...engine, ...ready]).status !== 0) {
    if (Date.now() > deadline)
      throw new Error(
        `${container} did not accept connections: ${run("docker", [...engine, "logs", container]).stderr}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The databases command's resolved inputs in a stack run. */
function databasesCommand(stack: StackRun): { create: string; stdin: string; interpreter: string[] } {
  return plain(stack.get(T.localCommand, "postgres-databases").inputs);
}

/**
 * Creates and starts the stack's Postgres container on `scratch` (its network must exist there already) and waits
 * until it accepts TCP connections. The container also answers, on this run's network, to the program's container
 * name, which the APIs' DB_HOST holds.
 */
export async function startProgramPostgres(scratch: DockerScratch, stack: StackRun): Promise<ProgramPostgres> {
  const spec = plain<ContainerInputs>(stack.get(T.container, "postgres").inputs);
  const specName = spec.name;
  if (!specName) throw new Error("the Postgres spec has no name");
  scratch.volume(stack.get(T.volume, "postgres-data").inputs);
  const networks = (spec.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
  const withOwnName = {
    ...spec,
    networksAdvanced: networks.map((n) => ({ ...n, aliases: [...(n.aliases ?? []), specName] })),
  };
  const container = await scratch.create(withOwnName, IMAGES.postgres);
  const user = (spec.envs ?? []).find((e) => e.startsWith("POSTGRES_USER="))?.slice("POSTGRES_USER=".length);
  if (!user) throw new Error("the Postgres spec sets no POSTGRES_USER");

  await waitForPostgresOverTcp(container, { user });

  const psql = (sql: string, database = "postgres") =>
    docker(
      ["exec", "-i", "-e", `PGUSER=${user}`, container, "psql", "-X", "-At", "-q", "-v", "ON_ERROR_STOP=1"].concat([
        "-d",
        database,
      ]),
      { input: sql },
    );
  return {
    container,
    psql,
    ensureDatabases(stackRun) {
      const cmd = databasesCommand(stackRun);
      const own = `docker exec -i ${specName} sh -s`;
      if (cmd.create !== own) throw new Error(`the databases command is ${cmd.create}, not ${own}`);
      const create = `docker exec -i ${container} sh -s`;
      const [shell, ...shellArgs] = cmd.interpreter;
      return check(run(shell, [...shellArgs, create], { input: cmd.stdin, timeoutMs: 60_000 }), create);
    },
    sessionAddresses(role, database) {
      const rows = psql(
        `SELECT host(client_addr) FROM pg_stat_activity WHERE usename = '${role}' AND datname = '${database}' ORDER BY 1`,
      );
      return rows.split("\n").filter(Boolean);
    },
  };
}

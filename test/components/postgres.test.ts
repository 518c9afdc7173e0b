/** The Postgres component alone: health check, secret env, the databases command fed on stdin, data protection. */
import { execFileSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { Postgres, PostgresArgs } from "../../components/postgres";
import { readScript } from "../../components/shell";
import { ComponentRun, runComponents, urnOf } from "../support/componentHarness";
import { T, isSecretInput, unwrap } from "../support/stackHarness";
import { mountAt, unsecret } from "../stacks/helpers";
import { typeOfUrn } from "../stacks/invariants";

const PASSWORD = "pg-Pass'word $HOME `x` 0123";
const BOOTSTRAP = "bootstrap-0123456789abcdefghijkl";
const ARGS = (): PostgresArgs => ({
  image: "postgres:16.6",
  containerName: "ems_system-postgres",
  volumeName: "ems_system_pgdata",
  networkName: "ems_system_db",
  user: "ems",
  password: pulumi.secret(PASSWORD),
  bootstrapPassword: pulumi.secret(BOOTSTRAP),
  databases: ["ems", "sms"],
  memoryMb: 1024,
  protectData: true,
});

let run: ComponentRun<Postgres>;
beforeAll(async () => {
  run = await runComponents(() => new Postgres("postgres", ARGS()));
});

test("health check is pg_isready as the configured user", () => {
  expect(run.get(T.container, "postgres").inputs.healthcheck).toEqual({
    tests: ["CMD-SHELL", "pg_isready -U ems -d postgres"],
    interval: "10s",
    timeout: "5s",
    retries: 5,
    startPeriod: "30s",
  });
});

test("the environment is a secret, with user, the initdb bootstrap password and PGDATA (never the rotating password)", async () => {
  const c = run.get(T.container, "postgres");
  expect(await isSecretInput(c.props.envs)).toBe(true);
  expect(await unwrap(c.props.envs)).toEqual(["POSTGRES_USER=ems", `POSTGRES_PASSWORD=${BOOTSTRAP}`, "PGDATA=/var/lib/postgresql/data"]);
  expect(c.opts.additionalSecretOutputs).toContain("envs");
});

test("fixed container name, named volume at the data folder, internal network only, no ports, deleted before replacement", () => {
  const c = run.get(T.container, "postgres");
  expect(c.inputs.name).toBe("ems_system-postgres");
  expect(c.inputs.ports).toBeUndefined();
  expect(mountAt(c, "/var/lib/postgresql/data")).toEqual({ type: "volume", source: "ems_system_pgdata", target: "/var/lib/postgresql/data" });
  expect(c.inputs.networksAdvanced).toEqual([{ name: "ems_system_db", aliases: ["postgres"] }]);
  expect(run.get(T.network, "postgres-network").inputs).toEqual({ name: "ems_system_db", internal: true, driver: "bridge" });
  expect(c.opts.deleteBeforeReplace).toBe(true);
  expect(c.inputs.image).toMatch(/^postgres@sha256:[0-9a-f]{64}$/);
});

test("the databases command runs `docker exec -i <container> sh -s` with the script on stdin, after the container", async () => {
  const cmd = run.get(T.localCommand, "postgres-databases");
  expect(cmd.inputs.create).toBe("docker exec -i ems_system-postgres sh -s");
  expect(cmd.inputs.update).toBe("docker exec -i ems_system-postgres sh -s");
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  const stdin = unsecret(cmd.inputs.stdin) as string;
  expect(stdin.startsWith("DATABASES='ems sms'\n")).toBe(true);
  expect(stdin.endsWith(readScript("ensure-databases.sh"))).toBe(true);
  expect(cmd.inputs.triggers.slice(1)).toEqual(["ems", "sms"]);
  const deps = await Promise.all(((cmd.opts.dependsOn ?? []) as pulumi.Resource[]).map(urnOf));
  expect(deps.map(typeOfUrn)).toEqual([T.container]);
});

test("the stdin (holding the password) is a secret, in the registration and in the command's outputs", async () => {
  const cmd = run.get(T.localCommand, "postgres-databases");
  expect(await isSecretInput(cmd.props.stdin)).toBe(true);
  expect(cmd.inputs.stdin).toHaveProperty("value");
  expect(cmd.opts.additionalSecretOutputs).toContain("stdin");
});

test("the stdin's variable lines give the script the exact databases and password, whatever the password's characters", () => {
  const stdin = unsecret(run.get(T.localCommand, "postgres-databases").inputs.stdin) as string;
  const head = stdin.slice(0, stdin.indexOf(readScript("ensure-databases.sh")));
  const out = execFileSync("/bin/sh", ["-c", `${head}\nprintf '%s\\n%s' "$DATABASES" "$NEW_PASSWORD"`], { encoding: "utf8", env: { PATH: process.env.PATH } });
  expect(out).toBe(`ems sms\n${PASSWORD}`);
});

test("protectData protects and retains the data volume; without it nothing is protected", async () => {
  expect(run.get(T.volume, "postgres-data").opts).toMatchObject({ protect: true, retainOnDelete: true });
  const unprotected = await runComponents(() => new Postgres("postgres", { ...ARGS(), protectData: false }));
  expect(unprotected.get(T.volume, "postgres-data").opts.protect).toBe(false);
  expect(unprotected.resources.filter((r) => r.opts.protect)).toEqual([]);
});

test("with an SSH connection, the databases command runs on the host over SSH", async () => {
  const remote = await runComponents(() => new Postgres("postgres", { ...ARGS(), connection: { host: "vps.example", user: "root", port: 22 } }));
  expect(remote.ofType(T.localCommand)).toEqual([]);
  const cmd = remote.get(T.remoteCommand, "postgres-databases");
  expect(cmd.inputs.create).toBe("docker exec -i ems_system-postgres sh -s");
  expect(unsecret(cmd.inputs.connection)).toMatchObject({ host: "vps.example", user: "root", port: 22 });
});

test("rotating the password changes the databases command's stdin only: the container's inputs stay the same", async () => {
  const rotated = await runComponents(() => new Postgres("postgres", { ...ARGS(), password: pulumi.secret("another-Password-0123456789") }));
  expect(rotated.get(T.container, "postgres").inputs).toEqual(run.get(T.container, "postgres").inputs);
  const before = run.get(T.localCommand, "postgres-databases").inputs;
  const after = rotated.get(T.localCommand, "postgres-databases").inputs;
  expect(after.triggers).toEqual(before.triggers);
  expect(unsecret(after.stdin)).toContain("NEW_PASSWORD=another-Password-0123456789\n");
  expect(unsecret(after.stdin)).not.toEqual(unsecret(before.stdin));
});

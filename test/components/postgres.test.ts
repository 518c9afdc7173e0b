/**
 * The Postgres component alone: the bootstrap password as a file (nothing secret in Env), the health check,
 * the databases command (run for real with a stub `docker`), one role per service, data protection.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Postgres, PostgresArgs } from "../../components/postgres";
import { readScript } from "../../components/shell";
import {
  ComponentRun,
  isSecretEnvelope,
  isSecretInput,
  plainInput,
  runComponents,
  runRecordedCommand,
  stubSsh,
  T,
  tempDir,
  unwrap,
  urnOf,
} from "../support";
import { mountAt, shellWords, unsecret, uploadedFile } from "../stacks/helpers";
import { typeOfUrn } from "../stacks/invariants";

const PASSWORD = "pg-Pass'word $HOME `x` 0123";
const BOOTSTRAP = "bootstrap0123456789abcdefghijklm";
const EMS_DB_PASSWORD = "ems-db-Pass'word $(id) 0123";
const SMS_DB_PASSWORD = "sms-db-password-0123456789";
const ARGS = (): PostgresArgs => ({
  image: "postgres:17.6-alpine",
  containerName: "ems_system-postgres",
  volumeName: "postgres_ems_system_data",
  networkName: "ems_system_db",
  user: "postgres",
  password: pulumi.secret(PASSWORD),
  bootstrapPassword: pulumi.secret(BOOTSTRAP),
  roles: [
    { role: "ems_user", database: "ems_production", password: pulumi.secret(EMS_DB_PASSWORD) },
    { role: "sms_user", database: "sms_production", password: pulumi.secret(SMS_DB_PASSWORD) },
  ],
  memoryMb: 1024,
  protectData: true,
});
const CREATE = "docker exec -i ems_system-postgres sh -s";

/** The assignments the databases command's stdin starts with (before ensure-databases.sh). */
const stdinHead = (stdin: string) => stdin.slice(0, stdin.indexOf(readScript("ensure-databases.sh")));

let run: ComponentRun<Postgres>;
beforeAll(async () => {
  run = await runComponents(() => new Postgres("postgres", ARGS()));
});

test("health check is pg_isready over TCP as the superuser (the image has a shell), its words as a shell splits them", () => {
  const healthcheck = run.get(T.container, "postgres").inputs.healthcheck;
  expect(healthcheck).toEqual({
    tests: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres -d postgres"],
    interval: "10s",
    timeout: "5s",
    retries: 5,
    startPeriod: "30s",
  });
  expect(shellWords(healthcheck.tests[1])).toEqual([
    "pg_isready",
    "-h",
    "127.0.0.1",
    "-U",
    "postgres",
    "-d",
    "postgres",
  ]);
});

test("nothing secret in Env: the bootstrap password is an uploaded file named by POSTGRES_PASSWORD_FILE", async () => {
  const c = run.get(T.container, "postgres");
  expect(await isSecretInput(c.props.envs)).toBe(false);
  expect(c.inputs.envs).toEqual([
    "POSTGRES_USER=postgres",
    "POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password",
    "PGDATA=/var/lib/postgresql/data",
  ]);
  expect(uploadedFile(c, "/run/secrets/postgres-password")).toBe(BOOTSTRAP);
  expect(await isSecretInput(c.props.uploads)).toBe(true);
  expect(c.opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["uploads"]));
  const plain = JSON.stringify(c.inputs, (_k, v) => (isSecretEnvelope(v) ? "<secret>" : v));
  for (const secret of [BOOTSTRAP, PASSWORD, EMS_DB_PASSWORD, SMS_DB_PASSWORD]) expect(plain).not.toContain(secret);
});

test("fixed container name, the adopted volume at the data folder, internal network only, no ports, pinned image by digest", () => {
  const c = run.get(T.container, "postgres");
  expect(c.inputs.name).toBe("ems_system-postgres");
  expect(c.inputs.ports).toBeUndefined();
  expect(mountAt(c, "/var/lib/postgresql/data")).toEqual({
    type: "volume",
    source: "postgres_ems_system_data",
    target: "/var/lib/postgresql/data",
  });
  expect(c.inputs.networksAdvanced).toEqual([{ name: "ems_system_db", aliases: ["postgres"] }]);
  expect(run.get(T.network, "postgres-network").inputs).toEqual({
    name: "ems_system_db",
    internal: true,
    driver: "bridge",
  });
  expect(run.get(T.image, "postgres-image").inputs).toEqual({ name: "postgres:17.6-alpine", keepLocally: true });
  expect(c.inputs.image).toMatch(/^postgres@sha256:[0-9a-f]{64}$/);
});

test("two servers never share the volume: deleted before its replacement, 60 s to shut down cleanly", () => {
  const c = run.get(T.container, "postgres");
  expect(c.opts.deleteBeforeReplace).toBe(true);
  expect(c.opts.ignoreChanges).toEqual(["logOpts"]);
  expect(c.inputs).toMatchObject({
    stopTimeout: 60,
    destroyGraceSeconds: 60,
    wait: true,
    memory: 1024,
    memorySwap: 1024,
    restart: "unless-stopped",
  });
});

test("the databases command: `docker exec -i <container> sh -s`, run for real, gets ensure-databases.sh on stdin", () => {
  const cmd = run.get(T.localCommand, "postgres-databases");
  expect(cmd.inputs.create).toBe(CREATE);
  expect(cmd.inputs.update).toBe(CREATE);
  expect(cmd.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
  const dir = tempDir("pg-databases");
  try {
    // A stub docker: records its argv and the stdin, as `docker exec -i` hands it to the container's shell.
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(
      path.join(dir, "bin", "docker"),
      `#!/bin/sh\nprintf '%s\\0' "$@" > "${dir}/argv"\ncat > "${dir}/stdin"\n`,
      { mode: 0o755 },
    );
    const result = runRecordedCommand(cmd, { pathPrefix: path.join(dir, "bin"), cwd: dir });
    expect(result.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "argv"), "utf8").split("\0").slice(0, -1)).toEqual([
      "exec",
      "-i",
      "ems_system-postgres",
      "sh",
      "-s",
    ]);
    const stdin = fs.readFileSync(path.join(dir, "stdin"), "utf8");
    expect(stdin).toBe(unsecret(cmd.inputs.stdin));
    expect(stdin.endsWith(readScript("ensure-databases.sh"))).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the stdin's assignments give the script the exact superuser, roles and passwords (exported), whatever their characters", () => {
  const stdin = unsecret(run.get(T.localCommand, "postgres-databases").inputs.stdin) as string;
  const out = execFileSync(
    "/bin/sh",
    [
      "-c",
      `${stdinHead(stdin)}\nexec sh -c 'printf "%s\\n" "$POSTGRES_USER" "$SERVICE_ROLES" "$SUPERUSER_PASSWORD" "$ROLE_PASSWORD_ems_user" "$ROLE_PASSWORD_sms_user"'`,
    ],
    { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 10_000 },
  );
  expect(out).toBe(
    `postgres\nems_user:ems_production sms_user:sms_production\n${PASSWORD}\n${EMS_DB_PASSWORD}\n${SMS_DB_PASSWORD}\n`,
  );
});

test("the stdin (holding the passwords) is a secret, in the registration and in the command's outputs; it runs after the container", async () => {
  const cmd = run.get(T.localCommand, "postgres-databases");
  expect(await isSecretInput(cmd.props.stdin)).toBe(true);
  expect(cmd.inputs.stdin).toHaveProperty("value");
  expect(cmd.opts.additionalSecretOutputs).toContain("stdin");
  const deps = await Promise.all(((cmd.opts.dependsOn ?? []) as pulumi.Resource[]).map(urnOf));
  expect(deps.map(typeOfUrn)).toEqual([T.container]);
  // Re-run when the container is replaced (a new, empty one) or the roles change.
  expect(cmd.inputs.triggers.slice(1)).toEqual(["ems_user:ems_production", "sms_user:sms_production"]);
});

test("protectData protects and retains the data volume, whose compose labels never read as a change; without it nothing is protected", async () => {
  const volume = run.get(T.volume, "postgres-data");
  expect(volume.inputs).toEqual({ name: "postgres_ems_system_data" });
  expect(volume.opts).toMatchObject({ protect: true, retainOnDelete: true });
  expect(volume.opts.ignoreChanges).toEqual(expect.arrayContaining(["labels", "driverOpts"]));
  const unprotected = await runComponents(() => new Postgres("postgres", { ...ARGS(), protectData: false }));
  expect(unprotected.get(T.volume, "postgres-data").opts.protect).toBe(false);
  expect(unprotected.resources.filter((r) => r.opts.protect)).toEqual([]);
});

test("with an SSH connection: the same local Command runs `docker exec` on the host through ssh (run with a stub ssh)", async () => {
  const connection = {
    host: "vps.edumigsoft.com.br",
    user: "root",
    port: 22,
    knownHostsFile: "/root/.ssh/known_hosts",
  };
  const remote = await runComponents(() => new Postgres("postgres", { ...ARGS(), connection }));
  expect(remote.ofType(T.remoteCommand)).toEqual([]);
  const cmd = remote.get(T.localCommand, "postgres-databases");
  const words = shellWords(cmd.inputs.create);
  expect(words[0]).toBe("ssh");
  expect(words.slice(-3)).toEqual(["--", "root@vps.edumigsoft.com.br", CREATE]);
  const dir = tempDir("pg-databases-ssh");
  try {
    const ssh = stubSsh(dir);
    fs.writeFileSync(
      path.join(ssh.binDir, "docker"),
      `#!/bin/sh\nprintf '%s\\0' "$@" > "${dir}/docker-argv"\ncat > /dev/null\n`,
      { mode: 0o755 },
    );
    const result = runRecordedCommand(cmd, { pathPrefix: ssh.binDir, cwd: dir });
    expect(result.status).toBe(0);
    expect(ssh.calls()).toHaveLength(1);
    expect(ssh.stdins()).toEqual([plainInput(cmd.inputs.stdin)]);
    expect(fs.readFileSync(path.join(dir, "docker-argv"), "utf8").split("\0").slice(0, -1)).toEqual([
      "exec",
      "-i",
      "ems_system-postgres",
      "sh",
      "-s",
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("rotating a password changes the databases command's stdin only: the container's inputs and the triggers stay the same", async () => {
  const rotated = await runComponents(
    () => new Postgres("postgres", { ...ARGS(), password: pulumi.secret("another-Password-0123456789") }),
  );
  expect(rotated.get(T.container, "postgres").inputs).toEqual(run.get(T.container, "postgres").inputs);
  const before = run.get(T.localCommand, "postgres-databases").inputs;
  const after = rotated.get(T.localCommand, "postgres-databases").inputs;
  expect(after.triggers).toEqual(before.triggers);
  expect(stdinHead(unsecret(after.stdin))).toContain("SUPERUSER_PASSWORD=another-Password-0123456789\n");
  expect(unsecret(after.stdin)).not.toEqual(unsecret(before.stdin));
});

test("the container name output is the fixed name (the APIs' DB_HOST, the backup's docker exec target)", async () => {
  expect(await unwrap(run.result.containerName)).toBe("ems_system-postgres");
  expect(await unwrap(run.result.networkName)).toBe("ems_system_db");
  expect(await unwrap(run.result.volumeName)).toBe("postgres_ems_system_data");
});

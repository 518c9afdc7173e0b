/**
 * The Backup component with the off-site copy on: the repository, its password and the target's credentials
 * reach the host only as a secret (stdin of one command, into a mode-600 file), never in the cron lines, the
 * installer, the outputs, or a container (docker inspect); the installer, run for real, writes the scripts,
 * the paths file and both crontab entries, and drops the drill's entry when the copy is turned off.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Backup, BackupArgs } from "../../components/backup";
import { offsiteEnvFile } from "../../components/backupOffsite";
import { shellQuote } from "../../components/shell";
import {
  backupUnder,
  isSecretEnvelope,
  plainInput,
  runComponents,
  runRecordedCommand,
  runStack,
  committedConfig,
  T,
  TEST_SECRETS,
  tempDir,
} from "../support";

const TARGET = {
  repository: "sftp:backup@offsite.example.net:/srv/restic/ems_system",
  password: "restic 'Pass' $word-0123456789",
  env: { SFTP_EXTRA: "x", AWS_SECRET_ACCESS_KEY: "aws-Secret-0123456789abcdef" },
};
const SECRETS = [TARGET.repository, TARGET.password, TARGET.env.AWS_SECRET_ACCESS_KEY];

function offsiteArgs(root: string): Omit<BackupArgs, "postgresContainer" | "connection"> {
  return {
    ...backupUnder(root),
    offsite: {
      target: pulumi.secret(TARGET),
      secretsDir: path.join(root, "ems_system/.secrets"),
      paths: [
        { kind: "uploads", path: path.join(root, "ems_system/data/uploads/ems") },
        { kind: "acme", path: path.join(root, "infra/letsencrypt") },
        { kind: "portainer", path: "volume:infra_portainer_data" },
      ],
      stateDir: path.join(root, "ems_system/data/offsite"),
      host: "ems_system",
      keep: { daily: 7, weekly: 4, monthly: 6 },
      drillSchedule: "0 5 * * 0",
      drillImage: "postgres:17.6-alpine",
    },
  };
}

const FAKE_CRONTAB = `#!/bin/sh
if [ "$1" = "-l" ]; then [ -f "$CRONTAB_STORE" ] && cat "$CRONTAB_STORE"; exit 0; fi
cp "$1" "$CRONTAB_STORE"
`;

let root: string;
beforeEach(() => {
  root = tempDir("ems-offsite-component-");
  fs.mkdirSync(path.join(root, "fakebin"));
  fs.writeFileSync(path.join(root, "fakebin/crontab"), FAKE_CRONTAB, { mode: 0o755 });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

async function build(args = offsiteArgs(root)) {
  return runComponents(() => new Backup("backup", { ...args, postgresContainer: "ems_system-postgres" }));
}
const outputOf = (o: pulumi.Output<string>) => new Promise<string>((resolve) => o.apply(resolve));

test("the credentials travel only as a secret stdin, into a mode-600 file whose values read back exactly", async () => {
  const run = await build();
  const cmd = run.get(T.localCommand, "backup-offsite-credentials");
  expect(isSecretEnvelope(cmd.inputs.stdin)).toBe(true);
  expect(cmd.opts?.additionalSecretOutputs).toContain("stdin");
  expect(plainInput<string>(cmd.inputs.create)).toBe("sh -s");
  const result = runRecordedCommand(cmd);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
  for (const s of SECRETS) expect(result.stdout).not.toContain(s);
  const file = path.join(root, "ems_system/.secrets/offsite.env");
  expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
  expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe("700");
  // Sourced as offsite.sh sources it, every value comes back byte for byte.
  const read = spawnSync(
    "sh",
    [
      "-c",
      `set -a; . ${shellQuote(file)}; printf '%s\\n' "$RESTIC_REPOSITORY" "$RESTIC_PASSWORD" "$AWS_SECRET_ACCESS_KEY"`,
    ],
    {
      encoding: "utf8",
    },
  );
  expect(read.stdout).toBe(`${TARGET.repository}\n${TARGET.password}\n${TARGET.env.AWS_SECRET_ACCESS_KEY}\n`);
});

test("no credential in the installer, the cron lines or the outputs", async () => {
  const run = await build();
  const installer = run.get(T.localCommand, "backup-schedule");
  const plainText = JSON.stringify([installer.inputs, installer.props]);
  for (const s of [...SECRETS, shellQuote(TARGET.password)]) expect(plainText).not.toContain(s);
  const backup = run.result;
  const outputs = await Promise.all(
    [backup.cronLine, backup.drillCronLine, backup.runCommand, backup.offsiteCommand].map(outputOf),
  );
  for (const s of SECRETS) for (const o of outputs) expect(o).not.toContain(s);
  expect(outputs[0]).toContain(`OFFSITE_ENV=${path.join(root, "ems_system/.secrets/offsite.env")}`);
  expect(outputs[1]).toMatch(
    /^0 5 \* \* 0 .* sh \S+\/offsite\.sh drill >> \S+backup\.log 2>&1 # ems-infra:drill-ems_system-backup$/,
  );
});

test("the installer writes the scripts, the paths file and both crontab entries; off again, the drill entry goes", async () => {
  const store = path.join(root, "crontab.txt");
  fs.writeFileSync(store, "15 1 * * * /usr/local/bin/someone-elses-job\n");
  const install = async (args: Omit<BackupArgs, "postgresContainer" | "connection">) => {
    const r = runRecordedCommand((await build(args)).get(T.localCommand, "backup-schedule"), {
      pathPrefix: path.join(root, "fakebin"),
      env: { CRONTAB_STORE: store, TMPDIR: root },
    });
    expect(r.status).toBe(0);
    return fs.readFileSync(store, "utf8").split("\n").filter(Boolean);
  };
  const on = await install(offsiteArgs(root));
  expect(on.map((l) => l.replace(/^.*# /, "# "))).toEqual([
    "15 1 * * * /usr/local/bin/someone-elses-job".replace(/^.*# /, "# "),
    "# ems-infra:ems_system-backup",
    "# ems-infra:drill-ems_system-backup",
  ]);
  expect(await install(offsiteArgs(root))).toEqual(on);
  expect(fs.readFileSync(path.join(root, "ems_system/data/bin/offsite.paths"), "utf8")).toBe(
    `uploads\t${root}/ems_system/data/uploads/ems\nacme\t${root}/infra/letsencrypt\nportainer\tvolume:infra_portainer_data\n`,
  );
  expect(fs.existsSync(path.join(root, "ems_system/data/bin/offsite.sh"))).toBe(true);
  const { offsite: _off, ...without } = offsiteArgs(root);
  void _off;
  const off = await install(without);
  expect(off.filter((l) => l.includes("ems-infra:"))).toHaveLength(1);
  expect(off.join("\n")).not.toContain("OFFSITE_ENV");
});

test("offsiteEnvFile refuses a variable that would override the repository or password", () => {
  expect(() => offsiteEnvFile({ repository: "r", password: "p", env: { RESTIC_PASSWORD: "x" } })).toThrow(
    /RESTIC_PASSWORD comes from the repository and password keys/,
  );
  expect(() => offsiteEnvFile({ repository: "r", password: "p", env: { "bad name": "x" } })).toThrow(
    /not a variable name/,
  );
});

test("prod stack with backupOffsite: no container (docker inspect) carries the off-site credentials", async () => {
  const run = await runStack(
    "prod",
    { ...committedConfig("prod"), ...TEST_SECRETS, "ems-infra:backupOffsite": JSON.stringify(TARGET) },
    [...Object.keys(TEST_SECRETS), "ems-infra:backupOffsite"],
  );
  for (const c of run.ofType(T.container)) {
    const text = JSON.stringify(plainInput(c.inputs));
    for (const s of SECRETS) expect(text).not.toContain(s);
  }
  expect(run.outputs.offsite).toMatchObject({ enabled: true, maxAgeHours: 30, drillMaxAgeDays: 8 });
  expect(JSON.stringify(run.outputs)).not.toContain(TARGET.password);
  const creds = run.get(T.localCommand, "backup-offsite-credentials");
  expect(plainInput<string>(creds.inputs.stdin)).toContain(shellQuote(TARGET.password));
});

test("dev stack without backupOffsite: no off-site copy, no drill", async () => {
  const run = await runStack("dev", committedConfig("dev"), []);
  expect(run.ofType(T.localCommand).map((c) => c.name)).not.toContain("backup-offsite-credentials");
  expect(run.outputs.offsite).toMatchObject({ enabled: false, command: "" });
});

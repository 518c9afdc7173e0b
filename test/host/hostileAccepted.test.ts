/**
 * Values the grammar accepts but that a shell, cron or ssh would read as syntax (blanks, ; & ( ) # * %, an
 * IPv6 ssh host, a schedule with names): both stacks are run under mocks with them, and every registered host
 * command is run for real in a temp folder, with stub `ssh`, `docker`, `crontab` and `mkcert` first on PATH
 * recording their arguments. No injected command may run, each value reaches its program as one argument, and
 * the crontab the installer writes has one entry of ours that fires the backup.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CronExpressionParser } from "cron-parser";
import { PROJECT } from "../../stacks/config";
import { committedConfig, runStack, StackRun, T, TEST_SECRETS, unsecret } from "../support";
import { withValue } from "../stacks/helpers";

const STUBS: Record<string, string> = {
  // Each stub writes its argv, NUL-separated, to a file of its own in $CALLS.
  ssh: `#!/bin/sh
printf '%s\\0' ssh "$@" > "$(mktemp "$CALLS/ssh.XXXXXX")"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
[ $# -eq 3 ] || { echo "ssh stub: expected -- TARGET COMMAND, got $# words" >&2; exit 99; }
exec /bin/sh -c "$3"
`,
  docker: `#!/bin/sh
printf '%s\\0' docker "$@" > "$(mktemp "$CALLS/docker.XXXXXX")"
cat > /dev/null
`,
  crontab: `#!/bin/sh
printf '%s\\0' crontab "$@" > "$(mktemp "$CALLS/crontab.XXXXXX")"
if [ "$1" = "-l" ]; then
  [ -f "$CRONTAB_STORE" ] || exit 1
  cat "$CRONTAB_STORE"
  exit 0
fi
cp "$1" "$CRONTAB_STORE"
`,
  mkcert: `#!/bin/sh
printf '%s\\0' mkcert "$@" > "$(mktemp "$CALLS/mkcert.XXXXXX")"
while [ $# -gt 0 ]; do
  case $1 in
    -cert-file) echo cert > "$2"; shift ;;
    -key-file) echo key > "$2"; shift ;;
  esac
  shift
done
`,
};

let root: string;
/** ssh options refuse blanks and %: the known_hosts file lives outside the hostile folder (the stub never reads it). */
const KNOWN_HOSTS = "/tmp/ems-infra-test/known_hosts";
let bin: string;
let calls: string;
const store = () => path.join(root, "crontab.txt");

function calledAs(program: string): string[][] {
  return fs
    .readdirSync(calls)
    .filter((f) => f.startsWith(`${program}.`))
    .map((f) => fs.readFileSync(path.join(calls, f), "utf8").split("\0").slice(0, -1));
}

function runHost(create: string, stdin: string | undefined) {
  return spawnSync("/bin/sh", ["-c", create], {
    input: stdin ?? "",
    encoding: "utf8",
    timeout: 30_000,
    cwd: root,
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      CALLS: calls,
      CRONTAB_STORE: store(),
      TMPDIR: path.join(root, "tmp"),
      HOME: root,
    },
  });
}

/** Runs every host command the stack registered (folders first, as the stack orders them) and returns their names. */
function runAllCommands(run: StackRun): string[] {
  const commands = run
    .ofType(T.localCommand)
    .sort((a, b) => Number(!a.name.includes("layout")) - Number(!b.name.includes("layout")));
  for (const c of commands) {
    const result = runHost(unsecret(c.inputs.create), unsecret(c.inputs.stdin));
    // stderr is shown only when the command failed (ssh warnings and progress notes are not failures).
    expect({ command: c.name, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({
      command: c.name,
      status: 0,
      stderr: "",
    });
  }
  return commands.map((c) => c.name);
}

/** Every file or folder under root whose name says an injected command ran. */
function injected(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith("INJECTED")) out.push(path.join(dir, e.name));
      if (e.isDirectory()) walk(path.join(dir, e.name));
    }
  };
  walk(root);
  return out;
}

/** What cron runs for a crontab line: the command after 5 fields, `\%` read as `%`, an unescaped `%` ending it. */
function cronCommand(line: string): { schedule: string; command: string; stdin: string } {
  const fields = line.split(" ");
  const raw = fields.slice(5).join(" ");
  let command = "";
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === "\\" && raw[i + 1] === "%") command += raw[++i];
    else if (raw[i] === "%") return { schedule: fields.slice(0, 5).join(" "), command, stdin: raw.slice(i + 1) };
    else command += raw[i];
  }
  return { schedule: fields.slice(0, 5).join(" "), command, stdin: "" };
}

beforeAll(() => {
  // The temp folder's own name is hostile too: every path below inherits it.
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ems hostile;&(x)#%n "));
  bin = path.join(root, "bin");
  calls = path.join(root, "calls");
  for (const d of [bin, calls, path.join(root, "tmp")]) fs.mkdirSync(d);
  for (const [name, text] of Object.entries(STUBS)) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  for (const f of fs.readdirSync(calls)) fs.rmSync(path.join(calls, f));
});

describe("prod over ssh, with accepted values a shell would read as syntax", () => {
  let run: StackRun;
  let data: string;
  const schedule = "*/15 2-4 * * mon-fri";

  beforeAll(async () => {
    data = path.join(root, "ems data;touch INJECTED1&(echo INJECTED2)#50%d*");
    let c: Record<string, string> = { ...committedConfig("prod"), ...TEST_SECRETS };
    c = withValue(c, "paths", [], { data, secrets: path.join(data, ".secrets; touch INJECTED3") });
    c = withValue(c, "tls", ["storageDir"], path.join(root, "le|touch INJECTED4"));
    c = withValue(c, "traefik", ["dynamicDir"], path.join(root, "dyn >INJECTED5 <x"));
    c = withValue(c, "ssh", [], { host: "2001:db8::10", user: "deploy_1", knownHostsFile: KNOWN_HOSTS });
    c = withValue(c, "migration", [], { from: { uploads: { ems: path.join(root, "old uploads;touch INJECTED6") } } });
    c = withValue(c, "backup", ["schedule"], schedule);
    fs.mkdirSync(path.join(root, "old uploads;touch INJECTED6"));
    fs.writeFileSync(path.join(root, "old uploads;touch INJECTED6", "photo 1.png"), "png");
    run = await runStack("prod", c);
  });

  test("every host command runs, through ssh, and no injected command runs", () => {
    const names = runAllCommands(run);
    expect(names).toEqual(
      expect.arrayContaining([
        "host-layout-data-folders",
        "backup-schedule",
        "postgres-databases",
        "migration-copy",
        "traefik-dynamic-config",
      ]),
    );
    expect(injected()).toEqual([]);
  });

  test("ssh gets the IPv6 target, the known_hosts option and the remote command each as one argument", () => {
    runAllCommands(run);
    const sshCalls = calledAs("ssh");
    expect(sshCalls.length).toBe(run.ofType(T.localCommand).length);
    for (const argv of sshCalls) {
      expect(argv).toContain(`UserKnownHostsFile=${KNOWN_HOSTS}`);
      expect(argv.slice(argv.indexOf("--") + 1, -1)).toEqual(["deploy_1@2001:db8::10"]);
    }
  });

  test("the folders are made under their exact names, the secrets folder 700", () => {
    runAllCommands(run);
    for (const dir of [
      path.join(data, "uploads", "ems"),
      path.join(data, "logs", "sms"),
      path.join(data, "backups"),
      path.join(root, "le|touch INJECTED4"),
      path.join(root, "dyn >INJECTED5 <x"),
    ]) {
      expect(fs.statSync(dir).isDirectory()).toBe(true);
    }
    expect((fs.statSync(path.join(data, ".secrets; touch INJECTED3")).mode & 0o777).toString(8)).toBe("700");
    expect(fs.readFileSync(path.join(data, "uploads", "ems", "photo 1.png"), "utf8")).toBe("png");
    expect(fs.readdirSync(path.join(root, "dyn >INJECTED5 <x")).sort()).toEqual(
      expect.arrayContaining(["dashboard.yml"]),
    );
  });

  test("docker exec gets the container name as one argument", () => {
    runAllCommands(run);
    expect(calledAs("docker")).toEqual([["docker", "exec", "-i", "ems_system-postgres", "sh", "-s"]]);
  });

  test("the crontab has exactly one entry of ours, and it fires the backup into the folder with % in its name", () => {
    fs.rmSync(store(), { force: true });
    fs.writeFileSync(store(), "*/5 * * * * /usr/local/bin/other-job\n");
    runAllCommands(run);
    runAllCommands(run);
    const lines = fs
      .readFileSync(store(), "utf8")
      .split("\n")
      .filter((l) => l !== "");
    const ours = lines.filter((l) => l.includes(`# ${PROJECT}:ems_system-backup`));
    expect(ours).toHaveLength(1);
    expect(lines).toEqual(["*/5 * * * * /usr/local/bin/other-job", ours[0]]);

    const { schedule: fired, command, stdin } = cronCommand(ours[0]);
    expect({ fired, stdin }).toEqual({ fired: schedule, stdin: "" });
    const next = CronExpressionParser.parse(fired).next().toDate();
    expect(next.getTime()).toBeGreaterThan(Date.now());

    for (const f of fs.readdirSync(calls)) fs.rmSync(path.join(calls, f));
    const result = runHost(command, "");
    expect(result.status).toBe(0);
    const backups = fs.readdirSync(path.join(data, "backups"));
    expect(backups).toEqual([expect.stringMatching(/^globals_\d{8}T\d{6}Z\.sql$/)]);
    expect(calledAs("docker").map((argv) => argv.slice(0, 7))).toContainEqual([
      "docker",
      "exec",
      "-i",
      "-e",
      "PGUSER=postgres",
      "ems_system-postgres",
      "psql",
    ]);
    expect(fs.readFileSync(path.join(data, "logs", "backup.log"), "utf8")).toContain("backup: wrote");
    expect(injected()).toEqual([]);
  });
});

describe("dev, mkcert with the routed hosts", () => {
  let run: StackRun;
  const certs = () => path.join(root, "certs -uninstall;touch INJECTED7");

  beforeAll(async () => {
    let c = committedConfig("dev");
    c = withValue(c, "paths", ["data"], path.join(root, "dev data (1)"));
    c = withValue(c, "tls", ["certsDir"], certs());
    c = withValue(c, "services", ["ems", "host"], "xn--ems-9oa.local");
    run = await runStack("dev", c, []);
  });

  test("mkcert gets every host after --, one argument each, and nothing injected runs", () => {
    const mkcert = run.get(T.localCommand, "local-certs-mkcert");
    const result = runHost(unsecret(mkcert.inputs.create), unsecret(mkcert.inputs.stdin));
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    const cert = path.join(certs(), "local.pem");
    const key = path.join(certs(), "local-key.pem");
    expect(calledAs("mkcert").sort()).toEqual(
      [
        ["mkcert", "-install"],
        [
          "mkcert",
          "-cert-file",
          cert,
          "-key-file",
          key,
          "--",
          "xn--ems-9oa.local",
          "api.sms.local",
          "traefik.local",
          "portainer.local",
        ],
      ].sort(),
    );
    expect(result.stdout).toMatch(/mkcert: fingerprint \d+\n$/);
    expect(injected()).toEqual([]);
  });
});

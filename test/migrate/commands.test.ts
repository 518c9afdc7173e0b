/**
 * The cut-over's host commands: each passes shellcheck as a POSIX sh script with awkward values, and the
 * ones the rehearsal cannot run on a shared machine (the crontab, a failing dump) run here against stand-ins.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CUTOVER_COMMANDS as C } from "../../ops/hostCommands/cutover";
import { shellQuote as q } from "../../components/shell";
import { boundShell } from "../../ops/runner/hostShell";
import { PREFLIGHT_COMMANDS as P } from "../../ops/hostCommands/preflight";

const AWKWARD = 'it\'s a "dir" $(x) `y`';
const shapes: Array<[string, string]> = [
  ["dumpAll", C.dumpAll("postgres_ems_system", "postgres", `/tmp/${AWKWARD}/cluster.sql.gz`)],
  ["copyAcme", C.copyAcme(`/root/${AWKWARD}/ems_system.json`, "/root/b/ems_system_1.json")],
  ["restartPolicy", C.restartPolicy("traefik")],
  ["stop", C.stop("ems_server_prod", 60)],
  ["stopNew", C.stopNew("ems-1a2b3c")],
  ["start", C.start("postgres_ems_system", "always")],
  ["waitPostgres", C.waitPostgres("postgres_ems_system", "postgres", 60)],
  ["withLabel", C.withLabel("com.ems.environment=production")],
  ["usingVolume", C.usingVolume("postgres_ems_system_data")],
  ["publishing", C.publishing(443)],
  [
    "health",
    C.health({
      host: "api.ems.edumigsoft.com.br",
      address: "127.0.0.1",
      port: 443,
      path: "/api/v1/health",
      insecure: false,
    }),
  ],
  ["engine", P.engine],
  ["containers", P.containers],
  ["df", P.df(`/root/${AWKWARD}/backups`)],
  ["databaseBytes", P.databaseBytes("postgres_ems_system", "postgres")],
  ["crontab", P.crontab],
];

describe("every host command", () => {
  // SC2016 is off: AWKWARD holds a literal `$(x)` that must stay unexpanded in single quotes.
  test.each(shapes)("%s passes shellcheck (sh)", (_name, command) => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-e", "SC2016", "-"], {
      input: `#!/bin/sh\n${command}\n`,
      encoding: "utf8",
    });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  test("an awkward folder name stays one word", () => {
    expect(C.copyAcme(`/root/${AWKWARD}/a.json`, "/b.json")).toContain(
      `from='/root/it'"'"'s a "dir" $(x) \`y\`/a.json'`,
    );
  });
});

describe("against stand-ins on this machine", () => {
  let bin: string;
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-migrate-cmd-"));
    bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Puts a stand-in program on PATH for the host shell. */
  function standIn(name: string, script: string): void {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }
  /** Runs a command on the host shell with the stand-ins first on PATH (the child gets the real environment, not jest's). */
  const shellWith = (command: string, input?: string) =>
    boundShell("local").run(`PATH=${q(bin)}:"$PATH"; export PATH\n${command}`, { input });

  test("the crontab is read (none is an empty one) and rewritten from stdin", async () => {
    const store = path.join(dir, "crontab.txt");
    standIn(
      "crontab",
      `case "$1" in -l) [ -f ${JSON.stringify(store)} ] || { echo "no crontab for root" >&2; exit 1; }; cat ${JSON.stringify(store)} ;; -) cat > ${JSON.stringify(store)} ;; esac`,
    );
    expect(await shellWith(P.crontab)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await shellWith(C.writeCrontab, "*/5 * * * * /usr/local/bin/other\n")).code).toBe(0);
    expect(fs.readFileSync(store, "utf8")).toBe("*/5 * * * * /usr/local/bin/other\n");
    expect((await shellWith(P.crontab)).stdout).toBe("*/5 * * * * /usr/local/bin/other\n");
  });

  test("a pg_dumpall that fails half-way leaves no file under the backup's name and says so", async () => {
    standIn(
      "docker",
      `printf -- '--\\n-- PostgreSQL database cluster dump\\n--\\nCREATE ROLE x;\\n'; echo "pg_dumpall: error: query failed" >&2; exit 1`,
    );
    const out = path.join(dir, "backups", "cluster_20261201T020000Z.sql.gz");
    const r = await shellWith(C.dumpAll("postgres_ems_system", "postgres", out));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pg_dumpall exited with 1");
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
  });

  test("a dump that exits 0 without the completion marker is refused", async () => {
    standIn("docker", `printf -- '--\\n-- PostgreSQL database cluster dump\\n--\\nCREATE ROLE x;\\n'`);
    const out = path.join(dir, "backups", "cluster.sql.gz");
    const r = await shellWith(C.dumpAll("postgres_ems_system", "postgres", out));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the dump is incomplete");
    expect(fs.existsSync(out)).toBe(false);
  });

  test("a complete dump is kept with mode 600 and its size printed", async () => {
    standIn(
      "docker",
      `printf -- '--\\n-- PostgreSQL database cluster dump\\n--\\nCREATE ROLE x;\\n--\\n-- PostgreSQL database cluster dump complete\\n--\\n'`,
    );
    const out = path.join(dir, "backups", "cluster.sql.gz");
    const r = await shellWith(C.dumpAll("postgres_ems_system", "postgres", out));
    expect(r).toEqual({ code: 0, stdout: `${fs.statSync(out).size} bytes\n`, stderr: "" });
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
  });

  test("a missing ACME file is reported as absent, not an error", async () => {
    const r = await shellWith(C.copyAcme(path.join(dir, "nope.json"), path.join(dir, "b", "copy.json")));
    expect(r).toEqual({ code: 0, stdout: "absent\n", stderr: "" });
  });

  test("the health probe sends the key from stdin as the x-api-key header, not in its arguments", async () => {
    standIn(
      "curl",
      `echo "$@" > ${JSON.stringify(path.join(dir, "args"))}; cat > ${JSON.stringify(path.join(dir, "stdin"))}; printf 200`,
    );
    const r = await shellWith(
      C.health({
        host: "api.sms.edumigsoft.com.br",
        address: "127.0.0.1",
        port: 443,
        path: "/api/v1/health",
        insecure: false,
      }),
      "x-api-key: s3cr3t-key\n",
    );
    expect(r.stdout).toBe("200");
    expect(fs.readFileSync(path.join(dir, "args"), "utf8")).toBe(
      "-sS -o /dev/null -w %{http_code} --max-time 5 --resolve api.sms.edumigsoft.com.br:443:127.0.0.1 -H @- https://api.sms.edumigsoft.com.br:443/api/v1/health\n",
    );
    expect(fs.readFileSync(path.join(dir, "stdin"), "utf8")).toBe("x-api-key: s3cr3t-key\n");
  });
});

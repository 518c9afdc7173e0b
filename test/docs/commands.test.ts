/**
 * Every shell command README.md and RUNBOOK.pt-BR.md give a reader (fenced sh/bash blocks, and inline code that starts
 * with a command) that names a container, a PostgreSQL role or an npm script is checked against the program: the
 * container names the stacks register (run under the mocks), the roles they create, package.json's scripts and each
 * ops command's own flags.
 */
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../../ops/runner/context";
import { committedConfig, runStack, T, TEST_SECRETS } from "../support";

interface DocCommand {
  where: string;
  heading: string;
  text: string;
}

/**
 * The compose system's containers on today's VPS (real-system.md §1.4): named only where the cut-over or the old
 * scripts are described.
 */
const COMPOSE_CONTAINERS = ["postgres_ems_system", "traefik", "portainer", "ems_server_prod", "sms_server_prod"];
const CUTOVER_HEADING = /cut-over|compose|migra|virada|old scripts/i;

/** Shell commands of a Markdown file: fenced sh/bash/shell blocks (continuations joined) and command-like inline code. */
function docCommands(file: string, markdown: string): DocCommand[] {
  const out: DocCommand[] = [];
  let heading = "";
  let fence: string | undefined;
  let pending = "";
  markdown.split("\n").forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const fenceMark = /^\s*```(\w*)/.exec(line);
    if (fenceMark) {
      fence = fence === undefined ? fenceMark[1] : undefined;
      return;
    }
    if (fence !== undefined) {
      if (!["sh", "bash", "shell", ""].includes(fence)) return;
      const joined = pending + line.trim();
      if (joined.endsWith("\\")) {
        pending = `${joined.slice(0, -1)} `;
        return;
      }
      pending = "";
      if (joined && !joined.startsWith("#")) out.push({ where, heading, text: joined });
      return;
    }
    if (/^#{1,6} /.test(line)) heading = line;
    // A line that shows the mistake of leaving out npm's `--` on purpose is not a command to paste.
    if (/without (the )?`--`/.test(line)) return;
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      if (/^(docker |npm run |psql |PG_EXEC=|PGUSER=|pg_dump )/.test(m[1])) out.push({ where, heading, text: m[1] });
    }
  });
  return out;
}

/** Words of a command line, quotes removed (enough for the checks: no expansion). */
function words(text: string): string[] {
  // A pipe written `\|` inside a Markdown table is a pipe.
  const plain = text.replace(/\\\|/g, "|");
  return (plain.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ""));
}

const isPlaceholder = (w: string) => /^[<$]|^\[|…|\.\.\./.test(w);

interface Program {
  containers: Set<string>;
  roles: Set<string>;
  services: Set<string>;
  scripts: Record<string, string>;
  /** Flags (long and short) of each ops command's spec, by npm script. */
  flags: Record<string, Set<string>>;
}

/** The problems of one command, as `where: text: why`. */
function commandProblems(cmd: DocCommand, program: Program): string[] {
  const problems: string[] = [];
  const bad = (why: string) => problems.push(`${cmd.where}: ${cmd.text}: ${why}`);
  const ws = words(cmd.text);

  // npm scripts and their flags
  ws.forEach((w, i) => {
    if (w !== "npm" || ws[i + 1] !== "run") return;
    const script = ws[i + 2]?.replace(/[,.;:]+$/, "");
    if (!script || isPlaceholder(script)) return;
    if (!(script in program.scripts)) {
      bad(`npm run ${script}: no such script in package.json`);
      return;
    }
    const rest: string[] = [];
    for (const x of ws.slice(i + 3)) {
      if (/^(\||;|&&|>|>>|#|2>&1)$/.test(x)) break;
      rest.push(x.replace(/^\[+|\]+$/g, ""));
    }
    const spec = program.flags[script];
    if (!spec || rest.length === 0) return;
    if (rest[0] !== "--") {
      if (rest.some((x) => x.startsWith("-"))) bad(`npm run ${script}: flags must follow npm's \`--\``);
      return;
    }
    for (const x of rest.slice(1)) {
      if (x === "--") break; // what follows goes to the command run inside (npm run exec … -- psql …)
      if (!x.startsWith("-") || isPlaceholder(x)) continue;
      const name = x.replace(/=.*$/, "");
      if (!spec.has(name)) bad(`npm run ${script}: ${name} is not a flag of that command`);
    }
  });

  // containers
  const OPTS_WITH_VALUE = new Set([
    "-e",
    "--env",
    "-u",
    "--user",
    "-w",
    "--workdir",
    "--format",
    "-f",
    "--tail",
    "-n",
    "--since",
    "--until",
    "-t",
    "--time",
    "-s",
    "--signal",
    "--type",
  ]);
  const FLAG_ONLY: Record<string, Set<string>> = { exec: new Set(["-t", "-f"]), logs: new Set(["-f", "-t"]) };
  ws.forEach((w, i) => {
    if (w !== "docker" && !w.endsWith("docker")) return;
    const sub = ws[i + 1];
    if (!["exec", "stop", "start", "restart", "logs", "inspect", "rm", "update", "kill"].includes(sub)) return;
    const names: string[] = [];
    for (let j = i + 2; j < ws.length; j++) {
      const x = ws[j];
      if (/^(\||;|&&|>|>>|2>&1)$/.test(x) || x.startsWith("$(")) break;
      if (x.startsWith("-")) {
        if (!x.includes("=") && OPTS_WITH_VALUE.has(x) && !FLAG_ONLY[sub]?.has(x)) j++;
        continue;
      }
      names.push(x);
      if (["exec", "logs", "inspect"].includes(sub)) break;
    }
    for (const name of names) {
      if (isPlaceholder(name) || program.containers.has(name)) continue;
      if (COMPOSE_CONTAINERS.includes(name) && CUTOVER_HEADING.test(cmd.heading)) continue;
      bad(
        `docker ${sub} ${name}: the program creates no container named ${name} (${[...program.containers].join(", ")}; the APIs' names are generated)`,
      );
    }
  });

  // roles
  for (const m of cmd.text.matchAll(/(?:PGUSER=|-U\s+|--username[= ])([A-Za-z_][\w$<>-]*)/g)) {
    if (!isPlaceholder(m[1]) && !program.roles.has(m[1]))
      bad(`role ${m[1]}: the program creates no such role (${[...program.roles].join(", ")})`);
  }
  for (const m of cmd.text.matchAll(/--as\s+(\S+)/g)) {
    if (!isPlaceholder(m[1]) && !program.services.has(m[1])) bad(`--as ${m[1]}: not a service`);
  }
  return problems;
}

let program: Program;

beforeAll(async () => {
  const containers = new Set<string>();
  const roles = new Set<string>();
  const services = new Set<string>();
  const prodSecrets = { ...TEST_SECRETS, "ems-infra:dashboardPassword": "dashboard-Password-0" };
  for (const [stack, secrets] of [
    ["dev", {}],
    ["prod", prodSecrets],
  ] as const) {
    const run = await runStack(stack, { ...committedConfig(stack), ...secrets }, Object.keys(secrets));
    for (const c of run.ofType(T.container)) if (typeof c.inputs.name === "string") containers.add(c.inputs.name);
    roles.add(run.config.postgres.user);
    for (const s of run.config.services) {
      roles.add(s.role);
      services.add(s.name);
    }
  }
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  const flags: Record<string, Set<string>> = {};
  for (const [script, line] of Object.entries(scripts)) {
    const file = /^tsx ((?:ops|testkit)\/[\w/-]+\.ts)$/.exec(line)?.[1];
    if (!file) continue;
    const mod = (await import(path.join(REPO_ROOT, file))) as Record<string, unknown>;
    // A command built with defineCommand: its flags are in `spec` (runner/defineCommand.ts).
    const spec = Object.values(mod)
      .map((v) => (typeof v === "object" && v !== null && "spec" in v ? (v as { spec: unknown }).spec : undefined))
      .find(
        (v): v is { flags: Record<string, { short?: string }> } => typeof v === "object" && v !== null && "flags" in v,
      );
    if (!spec) continue;
    flags[script] = new Set(["--help", "-h"]);
    for (const [name, f] of Object.entries(spec.flags)) {
      flags[script].add(`--${name}`);
      if (f.short) flags[script].add(`-${f.short}`);
    }
  }
  program = { containers, roles, services, scripts, flags };
}, 60_000);

const DOCS = ["README.md", "RUNBOOK.pt-BR.md"];
const commandsOf = (file: string) => docCommands(file, fs.readFileSync(path.join(REPO_ROOT, file), "utf8"));

describe("the commands README.md and the runbook give", () => {
  test("name only containers, roles, npm scripts and flags the program has", () => {
    const problems = DOCS.flatMap((file) => commandsOf(file).flatMap((cmd) => commandProblems(cmd, program)));
    expect(problems).toEqual([]);
  });

  test("the check sees the commands: every ops script, the by-hand Postgres commands, the runbook's", () => {
    const all = DOCS.flatMap(commandsOf).map((c) => c.text);
    for (const script of [
      "deploy",
      "rollback",
      "status",
      "logs",
      "exec",
      "backup",
      "restore",
      "migrate",
      "doctor",
      "down",
      "diagram",
    ])
      expect(all.some((t) => t.includes(`npm run ${script}`))).toBe(true);
    expect(all.some((t) => t.includes("PGUSER=postgres ems_system-postgres"))).toBe(true);
    expect(all.some((t) => t.startsWith("docker exec -i ems_system-postgres psql -U postgres"))).toBe(true);
    expect(commandsOf("RUNBOOK.pt-BR.md").some((c) => c.text.startsWith("docker logs infra_traefik"))).toBe(true);
    expect(program.containers).toEqual(
      new Set(["infra_traefik", "infra_socket_proxy", "infra_portainer", "ems_system-postgres"]),
    );
    expect(program.roles).toEqual(new Set(["postgres", "ems_user", "sms_user"]));
  });

  test("and would catch the mistakes the issue found", () => {
    const check = (text: string, heading = "## Backups") => commandProblems({ where: "X:1", heading, text }, program);
    expect(check('PG_EXEC="docker exec -i -e PGUSER=ems ems_system-postgres" sh backup.sh')).toEqual([
      'X:1: PG_EXEC="docker exec -i -e PGUSER=ems ems_system-postgres" sh backup.sh: role ems: the program creates no such role (postgres, ems_user, sms_user)',
    ]);
    expect(check("docker exec -i ems_system-postgres psql -U ems -d ems_drill")).toHaveLength(1);
    expect(check("docker stop ems_system-ems")[0]).toMatch(/the program creates no container named ems_system-ems/);
    expect(check("docker logs traefik --tail 50")[0]).toMatch(/no container named traefik/);
    expect(check("docker logs traefik --tail 50", "## Cut-over from the compose VPS")).toEqual([]);
    expect(check("npm run deploy --stack dev")[0]).toMatch(/flags must follow npm's `--`/);
    expect(check("npm run down -- --stack dev --purgee")[0]).toMatch(/--purgee is not a flag of that command/);
    expect(check("npm run up -- --stack dev")[0]).toMatch(/no such script/);
    expect(check("npm run exec -- --stack prod --service postgres --as crm")[0]).toMatch(/--as crm: not a service/);
    expect(check("npm run exec -- --stack prod --service postgres -- pg_dump --schema-only -U postgres x")).toEqual([]);
  });
});

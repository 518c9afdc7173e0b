/**
 * A developer's own dev settings in Pulumi.dev.local.yaml (git-ignored): honoured by the program's real entry
 * (index.ts's `localOverrides: true`), validated by the same schema with the file and key named, and never read by
 * the runs the tests make.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../stacks/config";
import { PROJECT_ROOT, loadStackConfig, parseWithOverrides } from "../../stacks/load";
import { deployStack } from "../../stacks/select";
import { committedConfig, recordUnderMocks, T, TEST_SECRETS } from "../support";
import { mountAt } from "./helpers";

const HOME = "/home/ana";
let project: string;

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), "overrides-"));
});
afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

const writeOverrides = (text: string, stack = "dev") =>
  fs.writeFileSync(path.join(project, `Pulumi.${stack}.local.yaml`), text);
const parse = (stack: string, localOverrides = true) =>
  parseWithOverrides(stack, committedConfig(stack), new Set(), { localOverrides, home: HOME, projectRoot: project });
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
};

describe("Pulumi.dev.local.yaml", () => {
  test("overrides any dev key, mappings merged key by key: my folders, my port, the rest as committed", () => {
    writeOverrides(
      [
        "config:",
        "  ems-infra:paths:",
        "    data: ~/ems-dev",
        "  ems-infra:tls:",
        "    certsDir: /srv/certs",
        "  ems-infra:services:",
        "    ems:",
        "      port: 9191",
        "",
      ].join("\n"),
    );
    const cfg = parse("dev");
    expect(cfg.paths.data).toBe("/home/ana/ems-dev");
    expect(cfg.tls).toEqual({ mode: "mkcert", certsDir: "/srv/certs" });
    const ems = cfg.services.find((s) => s.name === "ems")!;
    expect(ems.port).toBe(9191);
    expect(ems.image).toBe("ems-server");
    expect(ems.uploadsHostPath).toBe("/home/ana/ems-dev/uploads/ems");
    expect(cfg.services.find((s) => s.name === "sms")!.port).toBe(8080);
  });

  test("the program's real entry honours it: the containers mount the developer's folders", async () => {
    writeOverrides("config:\n  ems-infra:paths:\n    data: ~/ems-dev\n  ems-infra:tls:\n    certsDir: ~/certs\n");
    const { resources } = await recordUnderMocks({
      stack: "dev",
      config: committedConfig("dev"),
      build: () => deployStack(loadStackConfig({ localOverrides: true, home: HOME, projectRoot: project })),
    });
    const container = (name: string) => resources.find((r) => r.type === T.container && r.name === name)!;
    expect(mountAt(container("ems"), "/app/uploads").source).toBe("/home/ana/ems-dev/uploads/ems");
    expect(mountAt(container("traefik"), "/certs").source).toBe("/home/ana/certs");
  });

  test("without it, the committed paths resolve inside the checkout, not in anyone's home", () => {
    const cfg = parseWithOverrides("dev", committedConfig("dev"), new Set(), { home: HOME });
    expect(cfg.paths.data).toBe(path.join(PROJECT_ROOT, ".dev-data"));
    expect(cfg.tls).toEqual({ mode: "mkcert", certsDir: path.join(PROJECT_ROOT, ".dev-data", "certs") });
  });

  test("the test runs never read it: only index.ts asks for it", () => {
    writeOverrides("config:\n  ems-infra:paths:\n    data: ~/ems-dev\n");
    expect(parse("dev", false).paths.data).toBe(path.join(project, ".dev-data"));
    expect(fs.readFileSync(path.join(PROJECT_ROOT, "index.ts"), "utf8")).toContain(
      "loadStackConfig({ localOverrides: true })",
    );
    expect(fs.readFileSync(path.join(PROJECT_ROOT, "testkit", "mockProgram.ts"), "utf8")).toContain(
      "deployStack((cfg = loadStackConfig()))",
    );
  });

  test("a bad value is refused by the same schema, naming the file and the full key", () => {
    writeOverrides("config:\n  ems-infra:paths:\n    data: ~ana/dev\n  ems-infra:backup:\n    keepDaily: many\n");
    expect(problemsOf(() => parse("dev"))).toEqual([
      "Pulumi.dev.local.yaml: ems-infra:paths.data: must start with ~/ (a ~user path is not expanded)",
      "Pulumi.dev.local.yaml: ems-infra:backup.keepDaily: must be a number, got a string",
    ]);
  });

  test("a problem in a committed key is not blamed on the file", () => {
    writeOverrides("config:\n  ems-infra:paths:\n    data: ~/ems-dev\n");
    const raw = { ...committedConfig("dev"), "ems-infra:domain": "" };
    const problems = problemsOf(() =>
      parseWithOverrides("dev", raw, new Set(), { localOverrides: true, home: HOME, projectRoot: project }),
    );
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(/^ems-infra:domain: /);
  });

  test("credentials, other projects' keys and a malformed file are refused with the way to do it", () => {
    writeOverrides("config:\n  ems-infra:postgresPassword: hunter2\n  aws:region: us-east-1\n");
    expect(problemsOf(() => parse("dev"))).toEqual([
      "Pulumi.dev.local.yaml: ems-infra:postgresPassword: a credential cannot be set in this file; set it with: pulumi config set --secret ems-infra:postgresPassword <value> --stack dev",
      "Pulumi.dev.local.yaml: aws:region: only ems-infra:* keys can be overridden here",
    ]);
    writeOverrides("ems-infra:paths:\n  data: x\n");
    expect(problemsOf(() => parse("dev"))).toEqual([
      "Pulumi.dev.local.yaml: must hold one `config:` mapping, like Pulumi.dev.yaml",
    ]);
    writeOverrides("config: [\n");
    expect(problemsOf(() => parse("dev"))[0]).toMatch(/^Pulumi\.dev\.local\.yaml: is not valid YAML/);
  });

  test("prod has no local overrides: a Pulumi.prod.local.yaml is ignored", () => {
    writeOverrides("config:\n  ems-infra:domain: example.test\n", "prod");
    const raw = { ...committedConfig("prod"), ...TEST_SECRETS, "ems-infra:dashboardPassword": "dashboard-Password-0" };
    const secrets = new Set(Object.keys(raw).filter((k) => k in TEST_SECRETS || k.endsWith("dashboardPassword")));
    const cfg = parseWithOverrides("prod", raw, secrets, { localOverrides: true, projectRoot: project });
    expect(cfg.domain).toBe("edumigsoft.com.br");
  });

  test("git ignores it, and the .dev-data folder", () => {
    for (const file of ["Pulumi.dev.local.yaml", ".dev-data/backups/x.dump"]) {
      const ignored = spawnSync("git", ["-c", "safe.directory=*", "check-ignore", "-q", "--no-index", file], {
        cwd: PROJECT_ROOT,
      });
      expect({ file, status: ignored.status }).toEqual({ file, status: 0 });
    }
  });
});

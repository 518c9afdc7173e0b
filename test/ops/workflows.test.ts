import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Job {
  "runs-on": string;
  if?: string;
  environment?: string | { name: string };
  env?: Record<string, string>;
  secrets?: unknown;
  steps: Step[];
}

interface Workflow {
  name: string;
  on: Record<string, unknown> | string | string[];
  env?: Record<string, string>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const WORKFLOW_FILES = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

/** Every `secrets.X` a value reads (in `${{ }}` expressions), except the run's own GITHUB_TOKEN. */
function secretsRead(node: unknown): string[] {
  if (typeof node === "string")
    return [...node.matchAll(/\$\{\{[^}]*?\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)/g)]
      .map((m) => m[1])
      .filter((n) => n !== "GITHUB_TOKEN");
  if (Array.isArray(node)) return node.flatMap(secretsRead);
  if (node && typeof node === "object") return Object.values(node).flatMap(secretsRead);
  return [];
}

function triggers(workflow: Workflow): string[] {
  const on = workflow.on;
  return typeof on === "string" ? [on] : Array.isArray(on) ? on : Object.keys(on);
}

/**
 * The jobs that run a pull request's code and can read a secret without an environment gate (a job in an
 * environment gets its secrets only once the environment's rules, e.g. required reviewers, let it run).
 */
function ungatedPullRequestJobs(workflow: Workflow): string[] {
  const onPr = triggers(workflow).some((t) => t === "pull_request" || t === "pull_request_target");
  if (!onPr) return [];
  return Object.entries(workflow.jobs)
    .filter(([, job]) => {
      const reads = secretsRead({ ...job, environment: undefined }).length > 0 || job.secrets !== undefined;
      const workflowLevel = secretsRead(workflow.env ?? {}).length > 0;
      const env = typeof job.environment === "string" ? job.environment : job.environment?.name;
      return (reads || workflowLevel) && !(env && env.trim() !== "");
    })
    .map(([name]) => name);
}

function load(file: string): Workflow {
  return parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
}

function onlyJob(workflow: Workflow): Job {
  const jobs = Object.values(workflow.jobs);
  expect(jobs).toHaveLength(1);
  return jobs[0];
}

function indexOf(steps: Step[], predicate: (s: Step) => boolean, what: string): number {
  const i = steps.findIndex(predicate);
  if (i === -1) throw new Error(`no step ${what}`);
  return i;
}

const runs = (command: RegExp) => (s: Step) => typeof s.run === "string" && command.test(s.run);
const uses = (action: RegExp) => (s: Step) => typeof s.uses === "string" && action.test(s.uses);

function onPath(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).status === 0;
}

/** Checks shared by both workflows: Node 20 with the npm cache, npm ci, the SSH key, the backend secrets. */
function expectCommonSetup(job: Job): void {
  const { steps } = job;
  expect(job["runs-on"]).toBe("ubuntu-latest");
  expect(steps[indexOf(steps, uses(/^actions\/checkout@v\d+$/), "checkout")]).toBeDefined();
  const node = steps[indexOf(steps, uses(/^actions\/setup-node@v\d+$/), "setup-node")];
  expect(node.with).toMatchObject({ "node-version": 20, cache: "npm" });
  indexOf(steps, runs(/^npm ci\b/m), "npm ci");

  // prod's secrets come from an environment, at step level only.
  expect(job.env).toBeUndefined();
  expect(typeof job.environment).toBe("string");

  const ssh = steps[indexOf(steps, (s) => s.env?.VPS_SSH_KEY !== undefined, "installing the SSH key")];
  expect(ssh.env).toEqual({
    VPS_SSH_KEY: "${{ secrets.VPS_SSH_KEY }}",
    VPS_KNOWN_HOSTS: "${{ secrets.VPS_KNOWN_HOSTS }}",
  });
  expect(ssh.run).toContain('"$VPS_SSH_KEY" > ~/.ssh/');
  expect(ssh.run).toContain('"$VPS_KNOWN_HOSTS" > ~/.ssh/known_hosts');
  expect(ssh.run).toMatch(/chmod 600 ~\/\.ssh\/vps_key/);
  // The key never goes through an expression inside the script (it would end up in the logged command).
  for (const step of steps) expect(step.run ?? "").not.toMatch(/\$\{\{\s*secrets\./);

  // Checkout and dependencies come before Pulumi runs.
  const pulumi = indexOf(steps, uses(/^pulumi\/actions@v6$/), "pulumi/actions@v6");
  expect(steps[pulumi].env).toEqual({ PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" });
  expect(indexOf(steps, runs(/^npm ci\b/m), "npm ci")).toBeLessThan(pulumi);
  expect(steps.indexOf(ssh)).toBeLessThan(pulumi);
}

describe("no secret for code nobody reviewed", () => {
  it.each(WORKFLOW_FILES)(
    "%s: no job triggered by a pull request reads a secret without an environment gate",
    (file) => {
      expect(ungatedPullRequestJobs(load(file))).toEqual([]);
    },
  );

  it.each(WORKFLOW_FILES)(
    "%s: secrets are given to steps, never to a whole job or workflow, never pull_request_target",
    (file) => {
      const workflow = load(file);
      expect(triggers(workflow)).not.toContain("pull_request_target");
      expect(secretsRead(workflow.env ?? {})).toEqual([]);
      for (const job of Object.values(workflow.jobs)) {
        expect(secretsRead(job.env ?? {})).toEqual([]);
        expect(job.secrets).toBeUndefined();
      }
    },
  );

  it("the check catches the old preview workflow (job-level secrets, tests and preview of the PR's code, no gate)", () => {
    const old: Workflow = {
      name: "preview",
      on: { pull_request: { branches: ["main"] } },
      jobs: {
        preview: {
          "runs-on": "ubuntu-latest",
          env: { PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" },
          steps: [{ run: "npm ci" }, { run: "npm test" }, { uses: "pulumi/actions@v6" }],
        },
      },
    };
    expect(ungatedPullRequestJobs(old)).toEqual(["preview"]);
    const stepLevel: Workflow = {
      ...old,
      jobs: { preview: { "runs-on": "ubuntu-latest", steps: [{ with: { key: "${{ secrets.VPS_SSH_KEY }}" } }] } },
    };
    expect(ungatedPullRequestJobs(stepLevel)).toEqual(["preview"]);
    expect(ungatedPullRequestJobs({ ...old, on: ["push", "pull_request_target"] })).toEqual(["preview"]);
    expect(ungatedPullRequestJobs({ ...old, on: "push" })).toEqual([]);
    expect(
      ungatedPullRequestJobs({ ...stepLevel, jobs: { p: { ...stepLevel.jobs.preview, environment: "prod-preview" } } }),
    ).toEqual([]);
  });
});

describe("test workflow (pull requests and main)", () => {
  const workflow = load("test.yml");
  const job = onlyJob(workflow);

  it("runs on pull requests and pushes to main, with read-only permissions and no secret at all", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(workflow.permissions).toEqual({ contents: "read" });
    expect(secretsRead(workflow)).toEqual([]);
    expect(job.environment).toBeUndefined();
  });

  it("runs .ci/run (the tests) before a preview of dev on a throwaway backend", () => {
    const test = indexOf(job.steps, runs(/\.ci\/run/), ".ci/run");
    const preview = indexOf(job.steps, uses(/^pulumi\/actions@v6$/), "pulumi/actions@v6");
    expect(test).toBeLessThan(preview);
    expect(job.steps[preview].with).toMatchObject({ command: "preview", "stack-name": "dev", policyPacks: "policy" });
    expect(String(job.steps[preview].with?.["cloud-url"])).toMatch(/^file:\/\/\$\{\{ runner\.temp \}\}/);
  });
});

describe("preview workflow (prod)", () => {
  const workflow = load("preview.yml");

  it("runs on pull requests (gated by prod-preview's reviewers) and after a merge to main (prod-main)", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(workflow.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(workflow.jobs["preview-pr"].environment).toBe("prod-preview");
    expect(workflow.jobs["preview-pr"].if).toContain("github.event_name == 'pull_request'");
    expect(workflow.jobs["preview-main"].environment).toBe("prod-main");
    expect(workflow.jobs["preview-main"].if).toBe("github.event_name == 'push'");
  });

  it.each(["preview-pr", "preview-main"])("%s: the common setup; no tests run with the secrets around", (name) => {
    const job = workflow.jobs[name];
    expectCommonSetup(job);
    expect(job.steps.some(runs(/npm (run )?test|jest|\.ci\/run/))).toBe(false);
  });

  it("previews prod with a refresh, a diff and the policy pack; the PR's preview comments on it", () => {
    for (const [name, comment] of [
      ["preview-pr", { "comment-on-pr": true }],
      ["preview-main", {}],
    ] as const) {
      const steps = workflow.jobs[name].steps;
      const step = steps[indexOf(steps, uses(/^pulumi\/actions@v6$/), "pulumi/actions@v6")];
      expect(step.with).toEqual({
        command: "preview",
        "stack-name": "prod",
        "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
        refresh: true,
        diff: true,
        ...comment,
        policyPacks: "policy",
      });
    }
  });

  it("names a policy folder that has a PulumiPolicy.yaml when the pack is in the repo", () => {
    const policyDir = path.join(ROOT, "policy");
    if (fs.existsSync(policyDir)) expect(fs.existsSync(path.join(policyDir, "PulumiPolicy.yaml"))).toBe(true);
  });
});

describe("drift workflow (daily)", () => {
  const workflow = load("drift.yml");
  const job = onlyJob(workflow);

  it("runs on a daily schedule and by hand", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    const schedule = (workflow.on as Record<string, unknown>).schedule as Array<{ cron: string }>;
    expect(schedule).toHaveLength(1);
    const fields = schedule[0].cron.split(/\s+/);
    expect(fields).toHaveLength(5);
    expect(fields.slice(2)).toEqual(["*", "*", "*"]);
    expect(workflow.permissions).toEqual({ contents: "read" });
  });

  it("has the same setup", () => {
    expectCommonSetup(job);
  });

  it("previews prod after a refresh and fails on any change", () => {
    const step = job.steps[indexOf(job.steps, uses(/^pulumi\/actions@v6$/), "pulumi/actions@v6")];
    expect(step.with).toMatchObject({
      command: "preview",
      "stack-name": "prod",
      "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
      refresh: true,
      "expect-no-changes": true,
    });
    expect(step.if).toBeUndefined();
    expect((step as Record<string, unknown>)["continue-on-error"]).toBeUndefined();
  });
});

describe("linters", () => {
  it("yamllint finds nothing in the workflows and its own config", () => {
    if (!onPath("yamllint")) {
      console.warn("yamllint is not on PATH: lint skipped");
      return;
    }
    const r = spawnSync("yamllint", ["-s", "-f", "parsable", ".github", ".yamllint.yml"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("yamllint's config allows GitHub's `on:` and 120-column lines", () => {
    const config = parse(fs.readFileSync(path.join(ROOT, ".yamllint.yml"), "utf8")) as {
      rules: Record<string, Record<string, unknown>>;
    };
    expect(config.rules.truthy["check-keys"]).toBe(false);
    expect(config.rules["line-length"].max).toBe(120);
  });

  it("shellcheck finds nothing in the workflows' scripts", () => {
    if (!onPath("shellcheck")) {
      console.warn("shellcheck is not on PATH: lint skipped");
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-scripts-"));
    try {
      const files: string[] = [];
      for (const file of WORKFLOW_FILES) {
        for (const job of Object.values(load(file).jobs)) {
          job.steps.forEach((step, i) => {
            if (!step.run) return;
            const script = path.join(dir, `${file}-${i}.sh`);
            // GitHub runs `run:` with `bash -e`; GITHUB_STEP_SUMMARY is set by the runner.
            fs.writeFileSync(script, `#!/usr/bin/env bash\nset -e\n: "\${GITHUB_STEP_SUMMARY:?}"\n${step.run}`);
            files.push(script);
          });
        }
      }
      expect(files.length).toBeGreaterThanOrEqual(5);
      const r = spawnSync("shellcheck", ["-f", "gcc", ...files], { encoding: "utf8" });
      expect(r.stdout + r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

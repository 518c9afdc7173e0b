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
  env?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
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

  expect(job.env).toEqual({
    PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
  });

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
  expect(indexOf(steps, runs(/^npm ci\b/m), "npm ci")).toBeLessThan(pulumi);
  expect(steps.indexOf(ssh)).toBeLessThan(pulumi);
}

describe("preview workflow (pull requests)", () => {
  const workflow = load("preview.yml");
  const job = onlyJob(workflow);

  it("runs on pull requests and may comment on them", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    expect(workflow.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("sets up Node 20, installs with npm ci and runs the tests before previewing", () => {
    expectCommonSetup(job);
    const test = indexOf(job.steps, runs(/^npm test$/m), "npm test");
    expect(indexOf(job.steps, runs(/^npm ci\b/m), "npm ci")).toBeLessThan(test);
    expect(test).toBeLessThan(indexOf(job.steps, uses(/^pulumi\/actions@/), "pulumi/actions"));
  });

  it("previews prod with a refresh, a diff, the policy pack and a PR comment", () => {
    const step = job.steps[indexOf(job.steps, uses(/^pulumi\/actions@v6$/), "pulumi/actions@v6")];
    expect(step.with).toEqual({
      command: "preview",
      "stack-name": "prod",
      "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
      refresh: true,
      diff: true,
      "comment-on-pr": true,
      policyPacks: "policy",
    });
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
    const schedule = workflow.on.schedule as Array<{ cron: string }>;
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
      for (const file of ["preview.yml", "drift.yml"]) {
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

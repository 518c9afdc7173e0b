import * as fs from "fs";
import * as path from "path";
import { deploy as deployCommand } from "../../ops/commands/deploy";
import { rollback as rollbackCommand } from "../../ops/commands/rollback";

import { findStuckResources } from "../../ops/stuckReplacements";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG, prodOutputs, stateFixture } from "../support";

const [deploy, rollback] = [deployCommand.main, rollbackCommand.main];

const EMS_URN = "urn:pulumi:prod::ems-infra::ems:infra:ApiService$docker:index/container:Container::ems-container";
const INSPECT = fs.readFileSync(path.join(__dirname, "..", "fixtures", "docker-inspect-prod.json"), "utf8");
const HISTORY = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "history-prod.json"), "utf8"));

/** A prod host where the new ems container is unhealthy and Traefik exited. */
function prodHost(): FakeHost {
  return new FakeHost((command) => {
    if (command.includes("xargs -r docker inspect")) return { stdout: INSPECT };
    if (command.startsWith("docker logs --tail 20"))
      return {
        stdout: command.includes("b7e2d4c1")
          ? "Listening on :8181\nDB_PASS not set\n"
          : 'level=error msg="client version 1.24 is too old"\n',
      };
    return {};
  });
}

describe("the retry trap (B3): a failed health wait is never followed by a plain up", () => {
  it("finds the container with init errors and its pending-delete twin", () => {
    expect(findStuckResources(stateFixture("state-failed-health.json"))).toEqual([
      {
        urn: EMS_URN,
        name: "ems-container",
        type: "docker:index/container:Container",
        initErrors: ["container failed to be in healthy state"],
        oldKept: true,
      },
    ]);
    expect(findStuckResources(stateFixture("state-healthy.json"))).toEqual([]);
    expect(findStuckResources(stateFixture("state-failed-first-create.json"))[0].oldKept).toBe(false);
  });

  it("deploy re-run replaces the stuck container, says so, and keeps the old one", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      state: stateFixture("state-failed-health.json"),
      previewChanges: { replace: 1, same: 15 },
    });
    const io = fakeIo();
    expect(await deploy(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(0);
    expect(stack.previewOptions?.replace).toEqual([EMS_URN]);
    expect(stack.upOptions?.replace).toEqual([EMS_URN]);
    expect(io.stdout).toContain(
      "ems-container (docker:index/container:Container): container failed to be in healthy state\n",
    );
    expect(io.stdout).toContain("the one it replaces is still running (pending delete)");
    expect(io.stdout).toContain("instead of a plain up, which would delete the last healthy container");
  });

  it("rollback after a failed deploy also replaces instead of a plain up", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      history: HISTORY,
      state: stateFixture("state-failed-health.json"),
      previewChanges: { replace: 1 },
    });
    const io = fakeIo();
    expect(await rollback(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(0);
    expect(stack.upOptions?.replace).toEqual([EMS_URN]);
  });

  it("a healthy state gets a plain up (no replace option)", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      state: stateFixture("state-healthy.json"),
      previewChanges: { update: 1 },
    });
    expect(await deploy(["--stack", "prod", "--yes"], fakeIo(), fakeDeps(stack))).toBe(0);
    expect(stack.upOptions && "replace" in stack.upOptions).toBe(false);
  });

  it("after a failed up, prints each unhealthy or exited container's exit code, restarts and last 20 log lines", async () => {
    const host = prodHost();
    const stack = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "vps.edumigsoft.com.br" }) },
      previewChanges: { replace: 1 },
      upError: new Error("container failed to be in healthy state"),
      outputs: prodOutputs({ environment: "production" }),
    });
    const io = fakeIo();
    expect(
      await deploy(
        ["--stack", "prod", "--service", "ems", "--version", "1.5.0", "--yes"],
        io,
        fakeDeps(stack, { host }),
      ),
    ).toBe(1);
    expect(io.stderr).toContain(
      "--- ems-container-7c1e9a2 (ems): running, unhealthy, restarts 0; last 20 log lines:\nListening on :8181\nDB_PASS not set\n",
    );
    expect(io.stderr).toContain(
      '--- infra_traefik (traefik): exited, exit code 1, restarts 5; last 20 log lines:\nlevel=error msg="client version 1.24 is too old"\n',
    );
    expect(io.stderr).not.toContain("ems-container-1b2c3d4");
    expect(host.commands.every((c) => c.commandHost === "root@vps.edumigsoft.com.br:22")).toBe(true);
    expect(host.commands.find((c) => c.command.includes("xargs"))?.command).toBe(
      "{ docker ps -aq --no-trunc --filter label=com.ems.system=ems_system --filter label=com.ems.environment=production; printf '%s\\n' infra_traefik ems_system-postgres; } | xargs -r docker inspect",
    );
  });
});

describe("safety before anything changes", () => {
  it("prints the backend and the Docker host before the preview", async () => {
    const stack = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "vps.edumigsoft.com.br" }) },
      previewChanges: { same: 16 },
    });
    const io = fakeIo();
    await deploy(
      ["--stack", "prod", "--yes"],
      io,
      fakeDeps(stack, { env: { PULUMI_BACKEND_URL: "s3://ems-pulumi-state" } }),
    );
    expect(io.stdout.indexOf("Previewing")).toBeGreaterThan(
      io.stdout.indexOf("docker host: ssh://root@vps.edumigsoft.com.br:22"),
    );
    expect(io.stdout).toContain("backend:     s3://ems-pulumi-state\n");
  });

  it("refuses a typo'd stack with the list of existing stacks, before opening anything", async () => {
    const deps = fakeDeps(new FakeStack("prdo"), {
      stacks: ["dev", "prod"],
      files: ["Pulumi.prod.yaml", "Pulumi.dev.yaml"],
    });
    const io = fakeIo();
    expect(await deploy(["--stack", "prdo", "--yes"], io, deps)).toBe(1);
    expect(deps.opened).toEqual([]);
    expect(io.stderr).toContain(
      'stack "prdo" does not exist in backend file://~/.pulumi-ems-infra (existing stacks: dev, prod) and there is no Pulumi.prdo.yaml (a typo?)',
    );
  });

  it("refuses to create prod on a shared backend that does not hold it (a wrong PULUMI_BACKEND_URL)", async () => {
    const deps = fakeDeps(new FakeStack("prod"), {
      stacks: ["dev"],
      files: ["Pulumi.prod.yaml"],
      env: { PULUMI_BACKEND_URL: "s3://other-bucket" },
    });
    const io = fakeIo();
    expect(await deploy(["-s", "prod", "-y"], io, deps)).toBe(1);
    expect(io.stderr).toContain("is PULUMI_BACKEND_URL the one that holds prod?");
  });

  it("creates dev, and a stack with its file on the local backend", async () => {
    const dev = fakeDeps(new FakeStack("dev"), { stacks: [] });
    expect(await deploy(["--stack", "dev", "--yes"], fakeIo(), dev)).toBe(0);
    expect(dev.opened).toEqual([{ name: "dev", workDir: "/repo", create: true }]);
    const prod = fakeDeps(new FakeStack("prod", { config: PROD_CONFIG }), { stacks: [], files: ["Pulumi.prod.yaml"] });
    expect(await deploy(["--stack", "prod", "--yes"], fakeIo(), prod)).toBe(0);
  });

  it("in CI, refuses prod without ssh or docker.host", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG });
    const io = fakeIo();
    expect(await deploy(["--stack", "prod", "--yes"], io, fakeDeps(stack, { env: { CI: "true" } }))).toBe(1);
    expect(stack.changes).toEqual([]);
    expect(io.stderr).toBe(
      "error: in CI the prod stack needs ems-infra:ssh or ems-infra:docker.host: without them it would act on the runner's own Docker\n",
    );
    const withHost = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:docker": JSON.stringify({ host: "ssh://deploy@vps:22" }) },
    });
    expect(await deploy(["--stack", "prod", "--yes"], fakeIo(), fakeDeps(withHost, { env: { CI: "true" } }))).toBe(0);
  });
});

describe("pre-flight (provider-facts B2): the configured Traefik must talk to the target engine", () => {
  /** The Traefik the stack pinned before: v3.3.5 pins Docker API 1.24, which Docker 29 refuses. */
  const OLD_TRAEFIK = { ...PROD_CONFIG, "ems-infra:traefik": JSON.stringify({ image: "traefik:v3.3.5" }) };

  it("deploy refuses v3.3.5 on Docker 29 before any preview, naming both versions and the key to fix", async () => {
    const stack = new FakeStack("prod", { config: OLD_TRAEFIK });
    const io = fakeIo();
    expect(
      await deploy(["--stack", "prod", "--service", "ems", "--version", "1.5.0", "--yes"], io, fakeDeps(stack)),
    ).toBe(1);
    expect(stack.calls).not.toContain("preview");
    expect(stack.calls).not.toContain("up deploy ems 1.5.0");
    expect(io.stderr).toBe(
      "error: pre-flight: traefik:v3.3.5 (Traefik 3.3.5) pins Docker API 1.24, and Docker Engine 29.1.3 (API 1.52) requires API 1.44 or later: " +
        "Traefik would start healthy and route nothing (traefik/traefik#12253). Fix: set ems-infra:traefik.image to traefik:v3.6.1 or later " +
        "(or traefik:v2.11.31+ on v2); ems-infra:services.ems.version is back to 1.4.2\n",
    );
    expect(stack.config).toEqual(OLD_TRAEFIK);
  });

  it("the same Traefik on Docker 28 still goes ahead, and says why", async () => {
    const host = new FakeHost((command) => (command.startsWith("docker version") ? { stdout: "1.51 28.5.1\n" } : {}));
    const stack = new FakeStack("prod", { config: OLD_TRAEFIK, previewChanges: { update: 1 } });
    const io = fakeIo();
    expect(await deploy(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host }))).toBe(0);
    expect(io.stdout).toContain("pre-flight: traefik:v3.3.5 can talk to Docker Engine 28.5.1 (API 1.51)\n");
    expect(io.stdout.indexOf("pre-flight:")).toBeLessThan(io.stdout.indexOf("Previewing"));
  });

  it("asks the engine the program drives: the ssh host over the program's ssh, or docker.host from here", async () => {
    const overSsh = new FakeHost();
    const viaSsh = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:ssh": JSON.stringify({ host: "vps.edumigsoft.com.br", port: 2222 }) },
      previewChanges: { same: 16 },
    });
    expect(await deploy(["--stack", "prod", "--yes"], fakeIo(), fakeDeps(viaSsh, { host: overSsh }))).toBe(0);
    expect(overSsh.commands[0]).toEqual({
      mode: "capture",
      commandHost: "root@vps.edumigsoft.com.br:2222",
      command: "docker version --format '{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}'",
      tty: false,
    });

    const endpoint = new FakeHost();
    const viaEndpoint = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:docker": JSON.stringify({ host: "ssh://deploy@vps.edumigsoft.com.br:22" }) },
      previewChanges: { same: 16 },
    });
    expect(await deploy(["--stack", "prod", "--yes"], fakeIo(), fakeDeps(viaEndpoint, { host: endpoint }))).toBe(0);
    expect(endpoint.commands[0]).toMatchObject({
      commandHost: "local",
      command:
        "docker -H ssh://deploy@vps.edumigsoft.com.br:22 version --format '{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}'",
    });
  });

  it("a rollback to a Traefik that cannot talk to the engine is refused too, and the config is put back", async () => {
    // Update #3 ran traefik:v3.3.4, before the engine was 29.
    const stack = new FakeStack("prod", { config: PROD_CONFIG, history: HISTORY });
    const io = fakeIo();
    expect(await rollback(["--stack", "prod", "--to", "3", "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(io.stdout).toContain("set ems-infra:traefik.image: traefik:v3.6.1 → traefik:v3.3.4\n");
    expect(io.stderr).toMatch(
      /^error: pre-flight: traefik:v3\.3\.4 \(Traefik 3\.3\.4\) pins Docker API 1\.24.*; the stack config is back as it was\n$/,
    );
    expect(stack.calls).not.toContain("preview");
    expect(stack.config).toEqual(PROD_CONFIG);
  });

  it("an engine that cannot be asked is a refusal, not a guess", async () => {
    const host = new FakeHost((command) =>
      command.startsWith("docker version")
        ? {
            code: 1,
            stderr:
              "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
          }
        : {},
    );
    const stack = new FakeStack("prod", { config: PROD_CONFIG });
    const io = fakeIo();
    expect(await deploy(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host }))).toBe(1);
    expect(io.stderr).toContain(
      "error: pre-flight: cannot read the Docker engine version on local (exit 1): Cannot connect to the Docker daemon",
    );
    expect(stack.calls).not.toContain("preview");
  });
});

import { deploy } from "../../ops/commands/deploy";

const main = deploy.main;
import { fakeDeps, fakeIo, FakeStack, PROD_CONFIG, prodOutputs } from "../support";

const EMS_1_5_0 = ["--stack", "prod", "--service", "ems", "--version", "1.5.0"];

function emsVersion(stack: FakeStack): string {
  return (JSON.parse(stack.config["ems-infra:services"]) as Record<string, { version: string }>).ems.version;
}

describe("deploy main: flow (fake stack)", () => {
  it("sets the version, previews with a diff, confirms, runs up and prints the summary", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      previewChanges: { replace: 1, same: 15 },
      upVersion: 13,
      outputs: prodOutputs(),
    });
    const deps = fakeDeps(stack);
    const io = fakeIo({ tty: true, answers: ["y"] });

    expect(await main(EMS_1_5_0, io, deps)).toBe(0);

    expect(deps.opened).toEqual([{ name: "prod", workDir: "/repo", create: true }]);
    expect(stack.changes).toEqual([
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
      "preview",
      "up deploy ems 1.5.0",
    ]);
    expect(emsVersion(stack)).toBe("1.5.0");
    expect(stack.previewOptions).toMatchObject({ diff: true, color: "always", policyPacks: undefined });
    expect(stack.previewOptions?.onOutput).toBe(io.out);
    expect(stack.upOptions).toMatchObject({ message: "deploy ems 1.5.0", policyPacks: undefined });
    expect(io.questions).toEqual(["Deploy ems 1.5.0 to stack prod? [y/N] "]);
    expect(io.stdout).toBe(
      [
        "stack:       prod",
        "backend:     file://~/.pulumi-ems-infra",
        "docker host: this machine (unix:///var/run/docker.sock)",
        "set ems-infra:services.ems.version: 1.4.2 → 1.5.0",
        "pre-flight: traefik:v3.6.1 can talk to Docker Engine 29.1.3 (API 1.52)",
        "pre-flight: Docker Engine 29.1.3 (API 1.52) keeps swap limits",
        "pre-flight: no container but the stack's mounts the data volume ems_system_pgdata_17",
        "",
        "Previewing stack prod…",
        "Previewing update (fake):",
        "",
        "planned: 1 replaced, 15 unchanged",
        "restarts: no container",
        "Updating (fake):",
        "",
        "deployed ems 1.5.0 to stack prod (update #13): 1 replaced, 15 unchanged",
        "",
      ].join("\n"),
    );
    expect(io.stderr).toBe("");
  });

  it("passes the policy pack when policy/PulumiPolicy.yaml exists", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, previewChanges: { update: 1 } });
    const io = fakeIo();
    expect(await main([...EMS_1_5_0, "--yes"], io, fakeDeps(stack, { policy: true }))).toBe(0);
    expect(stack.previewOptions?.policyPacks).toEqual(["/repo/policy"]);
    expect(stack.upOptions?.policyPacks).toEqual(["/repo/policy"]);
    expect(stack.previewOptions?.color).toBe("never");
    expect(io.stdout).toContain("Previewing stack prod (with the policy pack)…\n");
    expect(io.questions).toEqual([]);
  });

  it("runs a plain preview + up without --service", async () => {
    const stack = new FakeStack("dev", { previewChanges: { create: 16 }, upChanges: { create: 16 }, upVersion: 1 });
    const deps = fakeDeps(stack);
    const io = fakeIo({ tty: true, answers: ["yes"] });
    expect(await main(["--stack", "dev"], io, deps)).toBe(0);
    // A first deploy writes what the pre-flight found on the engine, for the containers to adapt to.
    expect(stack.changes).toEqual([
      "setConfig ems-infra:engine.apiVersion=1.52 --path",
      "setConfig ems-infra:engine.swapLimit=true --path",
      "preview",
      "up deploy",
    ]);
    expect(io.questions).toEqual(["Deploy the configured versions to stack dev? [y/N] "]);
    expect(io.stdout).toContain("deployed the configured versions to stack dev (update #1): 16 created\n");
  });

  it("stops without up when the preview proposes nothing", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, previewChanges: { same: 16 } });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(0);
    expect(stack.changes).toEqual(["preview"]);
    expect(io.stdout).toContain("nothing to deploy: stack prod already runs the configured versions (16 unchanged)\n");
  });

  it("does not touch the config when the version is already set", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, previewChanges: { same: 16 } });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod", "--service", "ems", "--version", "1.4.2"], io, fakeDeps(stack))).toBe(0);
    expect(stack.changes).toEqual(["preview"]);
    expect(io.stdout).toContain(
      "ems-infra:services.ems.version is already 1.4.2 in stack prod: applying the stack as configured\n",
    );
  });

  it("restores the previous version when the operator says no", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, previewChanges: { replace: 1, same: 15 } });
    const io = fakeIo({ tty: true, answers: ["n"] });
    expect(await main(EMS_1_5_0, io, fakeDeps(stack))).toBe(1);
    expect(stack.changes).toEqual([
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
      "preview",
      "setConfig ems-infra:services.ems.version=1.4.2 --path",
    ]);
    expect(emsVersion(stack)).toBe("1.4.2");
    expect(io.stderr).toBe("aborted: nothing deployed; ems-infra:services.ems.version is back to 1.4.2\n");
  });

  it("restores the previous version when the preview fails", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      previewError: new Error("preview failed: image not found\n"),
    });
    const io = fakeIo({ tty: true });
    expect(await main(EMS_1_5_0, io, fakeDeps(stack))).toBe(1);
    expect(stack.changes.at(-1)).toBe("setConfig ems-infra:services.ems.version=1.4.2 --path");
    expect(emsVersion(stack)).toBe("1.4.2");
    expect(io.stderr).toBe("error: preview failed: image not found; ems-infra:services.ems.version is back to 1.4.2\n");
  });

  it("tells how to restore by hand when restoring fails", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, previewError: new Error("boom") });
    const setConfig = stack.setConfig.bind(stack);
    let sets = 0;
    stack.setConfig = async (...args) => {
      if (++sets > 1) throw new Error("backend unreachable");
      return setConfig(...args);
    };
    const io = fakeIo({ tty: true });
    expect(await main(EMS_1_5_0, io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe(
      "error: boom; could not restore the config (backend unreachable), do it with:\n  pulumi config set --path ems-infra:services.ems.version 1.4.2 --stack prod\n",
    );
  });

  it("keeps the new version when up fails, and says how to go back", async () => {
    const stack = new FakeStack("prod", {
      config: PROD_CONFIG,
      previewChanges: { replace: 1 },
      upError: new Error("health check timed out"),
    });
    const io = fakeIo();
    expect(await main([...EMS_1_5_0, "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes.at(-1)).toBe("up deploy ems 1.5.0");
    expect(emsVersion(stack)).toBe("1.5.0");
    expect(io.stderr).toBe(
      "error: pulumi up failed on stack prod: health check timed out\n" +
        "The stack config keeps ems 1.5.0. Fix the cause and re-run this command (containers that failed to start are replaced, " +
        "the running ones are kept until then), or go back with: npm run rollback -- --stack prod\n" +
        "Containers of stack prod that are not running healthy:\nthe stack has no containers on the host\n",
    );
  });

  it("refuses a service that is not in ems-infra:services, before changing anything", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod", "--service", "crm", "--version", "1.0.0"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes).toEqual([]);
    expect(io.stderr).toBe(
      'error: service "crm" is not in ems-infra:services of stack prod (known services: ems, sms)\n',
    );
  });

  it("refuses when the stack has no services config", async () => {
    const stack = new FakeStack("dev", { config: {} });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "dev", "--service", "ems", "--version", "1.0.0"], io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe(
      "error: stack dev has no ems-infra:services config: describe the services in Pulumi.dev.yaml first\n",
    );
  });

  it("refuses versions that `config set --path` would store as numbers", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod", "--service", "ems", "--version", "20250301"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes).toEqual([]);
    expect(io.stderr).toBe(
      'error: ems-infra:services.ems.version: "20250301" would be stored as a number by `pulumi config set --path`, ' +
        "and the program expects a string: use a tag with a dot or a letter in it\n",
    );
  });

  it("explains a missing Pulumi CLI", async () => {
    const io = fakeIo({ tty: true });
    const missing = new Error(
      "code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n",
    );
    expect(await main(["--stack", "dev"], io, fakeDeps(missing))).toBe(1);
    expect(io.stderr).toBe(
      "error: the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/), then re-run this command\n",
    );
  });

  it("explains a missing passphrase", async () => {
    const io = fakeIo({ tty: true });
    const message =
      'error: constructing secrets manager of type "passphrase": unable to find either `PULUMI_CONFIG_PASSPHRASE` or ' +
      "`PULUMI_CONFIG_PASSPHRASE_FILE` when trying to access the Passphrase Secrets Provider";
    expect(await main(["--stack", "dev"], io, fakeDeps(new Error(message)))).toBe(1);
    expect(io.stderr).toBe(
      `error: ${message}\n(export PULUMI_CONFIG_PASSPHRASE with the stack's passphrase: it encrypts the stack's secrets)\n`,
    );
  });
});

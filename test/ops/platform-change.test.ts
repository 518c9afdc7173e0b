/**
 * `npm run deploy` and `npm run rollback` refuse a platform change (the stack's `platform` output against
 * `ems-infra:platform`) before anything changes: no preview, no up, the config as it was.
 */
import { deploy } from "../../ops/commands/deploy";
import { rollback } from "../../ops/commands/rollback";
import { fakeDeps, fakeIo, FakeStack, PROD_CONFIG, prodOutputs } from "../support";

const SWARM_CONFIG = { ...PROD_CONFIG, "ems-infra:platform": "swarm" };
const REFUSAL =
  'error: pre-flight: ems-infra:platform is "swarm" but stack prod last deployed the "docker" platform. ' +
  "A plain pulumi up would start the new platform's Postgres and Traefik while the old containers still hold the " +
  "data volume and ports 80/443 (two PostgreSQL servers on one data folder corrupt it). Nothing was changed. " +
  'Move with: npm run switch-platform -- --stack prod (or set ems-infra:platform back to "docker")';

describe("deploy and rollback refuse to change the platform a stack runs on", () => {
  test("deploy on a one-engine stack whose config now says swarm: refused, nothing previewed or deployed", async () => {
    const stack = new FakeStack("prod", {
      config: SWARM_CONFIG,
      outputs: prodOutputs(),
      previewChanges: { create: 9 },
    });
    const io = fakeIo({ answers: ["y"] });
    expect(await deploy.main(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes).toEqual([]);
    expect(io.stderr).toBe(`${REFUSAL}\n`);
  });

  test("a version deploy at the same time: refused, and the version it set is put back", async () => {
    const stack = new FakeStack("prod", { config: SWARM_CONFIG, outputs: prodOutputs() });
    const io = fakeIo();
    expect(
      await deploy.main(["--stack", "prod", "--service", "ems", "--version", "1.5.0", "--yes"], io, fakeDeps(stack)),
    ).toBe(1);
    expect(stack.changes).toEqual([
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
      "setConfig ems-infra:services.ems.version=1.4.2 --path",
    ]);
    expect(stack.config).toEqual(SWARM_CONFIG);
    expect(io.stderr).toBe(`${REFUSAL}; ems-infra:services.ems.version is back to 1.4.2\n`);
  });

  test("a swarm stack whose config went back to docker: refused the other way", async () => {
    const stack = new FakeStack("prod", { config: PROD_CONFIG, outputs: prodOutputs({ platform: "swarm" }) });
    const io = fakeIo();
    expect(await deploy.main(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes).toEqual([]);
    expect(io.stderr).toContain('ems-infra:platform is "docker" but stack prod last deployed the "swarm" platform');
  });

  test("rollback on a stack whose platform key was flipped: refused before its preview", async () => {
    const stack = new FakeStack("prod", { config: SWARM_CONFIG, outputs: prodOutputs() });
    const io = fakeIo();
    expect(await rollback.main(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes.filter((c) => c === "preview" || c.startsWith("up"))).toEqual([]);
    expect(stack.config).toEqual(SWARM_CONFIG);
  });

  test("while a switch is under way (ems-infra:platformSwitch set) deploy sends to switch-platform, not to an up", async () => {
    const stack = new FakeStack("prod", {
      config: { ...SWARM_CONFIG, "ems-infra:platformSwitch": "swarm" },
      outputs: prodOutputs(),
    });
    const io = fakeIo();
    expect(await deploy.main(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(stack.changes).toEqual([]);
    expect(io.stderr).toBe(
      "error: pre-flight: a platform switch of stack prod is under way (ems-infra:platformSwitch is set): resume it with " +
        "npm run switch-platform -- --stack prod, or go back with npm run switch-platform -- --stack prod --undo\n",
    );
  });

  test("an unchanged platform deploys as before; a first deploy (no outputs) is not a change", async () => {
    const same = new FakeStack("prod", { config: PROD_CONFIG, outputs: prodOutputs(), previewChanges: { update: 1 } });
    expect(await deploy.main(["--stack", "prod", "--yes"], fakeIo(), fakeDeps(same))).toBe(0);
    expect(same.changes).toEqual(["preview", "up deploy"]);
    const fresh = new FakeStack("prod", { config: SWARM_CONFIG, previewChanges: { create: 9 } });
    expect(await deploy.main(["--stack", "prod", "--yes"], fakeIo(), fakeDeps(fresh))).toBe(0);
    expect(fresh.changes).toEqual(["preview", "up deploy"]);
  });
});

/**
 * One PostgreSQL per data volume (ops/dataVolume.ts): `deploy`, `rollback` and `rotate` (through ops/release.ts)
 * refuse, before any preview, when a container the stack does not own mounts its data volume, running or not;
 * the listing is the real `docker ps -a --filter volume=` on dockerd.
 */
import { boundShell } from "../../ops/runner/hostShell";
import { checkDataVolume, dataVolumeOf } from "../../ops/dataVolume";
import { volumeHoldersCommand } from "../../ops/hostCommands/dataVolume";
import { deploy as deployCommand } from "../../ops/commands/deploy";
import {
  buildTestImages,
  describeWithDocker,
  docker,
  DockerScratch,
  FakeHost,
  FakeStack,
  fakeDeps,
  fakeIo,
  IMAGES,
  PROD_CONFIG,
} from "../support";

const deploy = deployCommand.main;

describe("the stack's data volume, from its config", () => {
  test("postgres.volume when set (the adopted compose volume), else <system>_pgdata_<major>", async () => {
    const adopted = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:postgres": JSON.stringify({ volume: "postgres_ems_system_data" }) },
    });
    expect(await dataVolumeOf(adopted)).toEqual({ system: "ems_system", volume: "postgres_ems_system_data" });
    const own = new FakeStack("dev", { config: { "ems-infra:system": "escola", "ems-infra:postgres": "{}" } });
    expect(await dataVolumeOf(own)).toEqual({ system: "escola", volume: "escola_pgdata_17" });
  });

  test("a deploy with a foreign container on the data volume is refused before any preview, naming it", async () => {
    const host = new FakeHost((command: string) =>
      command === volumeHoldersCommand("ems_system_pgdata_17")
        ? { stdout: "ems_system-postgres\tems_system\npostgres_ems_system\t\n" }
        : {},
    );
    const stack = new FakeStack("prod", { config: PROD_CONFIG });
    const io = fakeIo();
    expect(await deploy(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host }))).toBe(1);
    expect(stack.calls).not.toContain("preview");
    expect(io.stderr).toContain(
      "error: pre-flight: postgres_ems_system mounts the data volume ems_system_pgdata_17 and is not this stack's: two PostgreSQL servers on one data folder corrupt it. Check it holds nothing you need, then remove it: docker rm -f postgres_ems_system",
    );
  });
});

describeWithDocker("on dockerd: every container on the volume counts, running or not", () => {
  const scratch = new DockerScratch("datavol");
  beforeAll(() => buildTestImages(), 180_000);
  afterAll(() => scratch.cleanup(), 60_000);

  test("the stack's own container passes; a stopped foreign one is refused", async () => {
    const volume = scratch.volume({ name: "pgdata" });
    const shell = boundShell("local");
    const own = scratch.track(scratch.rename("own"));
    docker([
      "create",
      "--name",
      own,
      "--label",
      "com.ems.system=escola",
      "-v",
      `${volume}:/var/lib/postgresql/data`,
      IMAGES.postgres,
    ]);
    await expect(checkDataVolume(shell, { system: "escola", volume })).resolves.toBe(
      `pre-flight: no container but the stack's mounts the data volume ${volume}`,
    );
    const foreign = scratch.track(scratch.rename("copy"));
    docker(["create", "--name", foreign, "-v", `${volume}:/data`, IMAGES.postgres]);
    await expect(checkDataVolume(shell, { system: "escola", volume })).rejects.toThrow(
      `${foreign} mounts the data volume ${volume} and is not this stack's`,
    );
    await expect(checkDataVolume(shell, { system: "outro", volume })).rejects.toThrow(`${own} mounts`);
  }, 60_000);
});

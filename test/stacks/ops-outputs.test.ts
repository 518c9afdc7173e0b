/**
 * The contract between the program and ops (stacks/opsContract.ts): both committed stacks, run under mocks, export
 * outputs the ops commands' schema accepts, with the values ops act on; a stack deployed by an older version (or
 * never deployed) is refused with a message saying what to do.
 */
import { parseOpsOutputs } from "../../stacks/opsContract";
import { committedConfig, runStack, StackRun, TEST_SECRETS } from "../support";

const stacks = {} as Record<"dev" | "prod", StackRun>;
beforeAll(async () => {
  stacks.prod = await runStack("prod", { ...committedConfig("prod"), ...TEST_SECRETS });
  stacks.dev = await runStack("dev", committedConfig("dev"));
});

describe("the outputs ops read", () => {
  it("prod's outputs satisfy the contract: its system, its containers, its backups and the backup log status reads", () => {
    const outputs = parseOpsOutputs("prod", stacks.prod.outputs);
    expect(outputs).toMatchObject({
      system: "ems_system",
      environment: "production",
      backupDir: "/root/ems_system/data/backups",
      backupLog: "/root/ems_system/data/logs/backup.log",
    });
    expect(Object.keys(outputs.containers).sort()).toEqual(["ems", "portainer", "postgres", "sms", "traefik"]);
    expect(outputs.images.ems).toMatch(/^ghcr\.io\/edumigsoft\/ems-server[:@]/);
    expect(outputs.hostExpectations.cron?.line).toContain(outputs.backupLog);
  });

  it("with the off-site copy on, drift expects the drill's crontab entry too; without it, none", async () => {
    expect(parseOpsOutputs("prod", stacks.prod.outputs).hostExpectations.drillCron).toBeUndefined();
    const offsite = { repository: "s3:https://s3.example.net/ems-backups", password: "restic-Password-0123456789" };
    const run = await runStack(
      "prod",
      { ...committedConfig("prod"), ...TEST_SECRETS, "ems-infra:backupOffsite": JSON.stringify(offsite) },
      [...Object.keys(TEST_SECRETS), "ems-infra:backupOffsite"],
    );
    const drill = parseOpsOutputs("prod", run.outputs).hostExpectations.drillCron;
    expect(drill?.job).toBe("drill-ems_system-backup");
    expect(drill?.line).toMatch(
      /^0 5 \* \* 0 BACKUP_DIR=\/root\/ems_system\/data\/backups .* OFFSITE_HOST=ems_system /,
    );
    expect(drill?.line).toMatch(
      / drill >> \/root\/ems_system\/data\/logs\/backup\.log 2>&1 # ems-infra:drill-ems_system-backup$/,
    );
  }, 60_000);

  it("dev's outputs satisfy the contract too", () => {
    const outputs = parseOpsOutputs("dev", stacks.dev.outputs);
    expect(outputs).toMatchObject({ environment: "development" });
    expect(outputs.hostExpectations.cron?.line).toContain(outputs.backupLog);
  });

  it("a stack deployed by an older version (no system, environment or backupLog output) is refused, naming them", () => {
    const { system: _s, environment: _e, backupLog: _b, ...older } = stacks.prod.outputs;
    expect(() => parseOpsOutputs("prod", older)).toThrow(
      "stack prod was deployed by an older version of ems-infra: its outputs lack backupLog, environment, system; " +
        "deploy it once with this version (npm run deploy -- --stack prod), then re-run this command",
    );
  });

  it("an output in an older shape is named as such", () => {
    expect(() => parseOpsOutputs("prod", { ...stacks.prod.outputs, containers: ["infra_traefik"] })).toThrow(
      "its outputs have containers in an older shape",
    );
  });

  it("a stack that was never deployed has no outputs, and says how to deploy it", () => {
    expect(() => parseOpsOutputs("dev", {})).toThrow(
      "stack dev has no outputs: it was never deployed (npm run deploy -- --stack dev)",
    );
  });
});

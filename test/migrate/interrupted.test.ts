/**
 * `npm run migrate` killed (kill -9: no handler runs, nothing cleans up) as each step starts, on the real dockerd with
 * the old system in motion (test/support/vps.ts). One chain instead of one rehearsal per step: each run is killed at
 * the next step and the following run resumes from the journal it left; after the kill at `up` the `--undo` brings the
 * old system back, watched; then a fresh cut-over killed at `gate` is resumed to the end. Another system on the same
 * host (its own com.ems.system) is never touched by any of it.
 */
import * as fs from "fs";
import * as path from "path";
import { buildTestImages, describeWithDocker, docker, IMAGES, inspect, psqlIn } from "../support";
import { Rehearsal, startRehearsal } from "../support";

jest.setTimeout(300_000);

describeWithDocker("a cut-over killed at each step, then run again", () => {
  let r: Rehearsal;
  let other = "";
  let otherStartedAt = "";
  let journal = "";

  beforeAll(async () => {
    buildTestImages();
    r = await startRehearsal();
    journal = path.join(r.vps.hostPath("/root/ems_system/.secrets"), "cutover-journal.json");
    // Another system on the same host, with the same environment label.
    other = r.vps.rename("other_system-api");
    docker([
      "run",
      "-d",
      "--name",
      other,
      "--restart",
      "unless-stopped",
      "--label",
      "com.ems.system=other_system",
      "--label",
      "com.ems.environment=production",
      "--entrypoint",
      "sh",
      IMAGES.postgres,
      "-c",
      "trap 'exit 0' TERM; while :; do sleep 1; done",
    ]);
    otherStartedAt = inspect(other).State.StartedAt;
  });
  afterAll(async () => {
    if (other) docker(["rm", "-f", other]);
    await r?.cleanup();
  });

  const running = (c: string) => inspect(c).State.Running as boolean;
  const oldNames = () => [
    r.vps.postgres,
    r.vps.apis.ems,
    r.vps.apis.sms,
    r.vps.rename("traefik"),
    r.vps.rename("portainer"),
  ];
  const journalStep = () => (JSON.parse(fs.readFileSync(journal, "utf8")) as { step: string }).step;
  const untouched = () => {
    expect(running(other)).toBe(true);
    expect(inspect(other).State.StartedAt).toBe(otherStartedAt);
  };

  test("killed at backup, copy-uploads, stop: each next run finds the journal and goes on; the journal is mode 600", async () => {
    expect((await r.cutover({ adoptCredentials: true, killAt: "backup" })).result).toBeUndefined();
    expect(journalStep()).toBe("backup");
    expect(fs.statSync(journal).mode & 0o777).toBe(0o600);
    for (const c of oldNames()) expect(running(c)).toBe(true); // nothing stopped yet: the old system serves

    for (const [from, killAt] of [
      ["backup", "copy-uploads"],
      ["copy-uploads", "stop"],
    ] as const) {
      const { log } = await r.cutover({ killAt });
      expect(log[0]).toMatch(
        new RegExp(`^found the journal of a cut-over started \\S+ and interrupted at step "${from}"`),
      );
      expect(log).toContain("resuming it (run with --undo instead to start the old system again)");
      expect(journalStep()).toBe(killAt);
    }
    // The uploads were copied before anything stopped.
    for (const rel of Object.keys(r.vps.layerUploads))
      expect(fs.existsSync(path.join(r.vps.uploads.ems, rel))).toBe(true);
    untouched();
  });

  test("killed at up (every old container stopped, the stack not up): --undo brings the old system back and proves it", async () => {
    const { log: resumed } = await r.cutover({ killAt: "up" });
    expect(resumed[0]).toContain('interrupted at step "stop"');
    for (const c of oldNames()) expect(running(c)).toBe(false);
    // No "nothing to migrate" while neither system serves: a plain run resumes; --undo undoes.
    const { result, log } = await r.cutover({ undo: true });
    console.log(`interrupted (--undo):\n  ${log.join("\n  ")}`);
    expect(result).toMatchObject({ outcome: "rolled-back", reason: "asked to undo (--undo)" });
    for (const c of oldNames()) expect(running(c)).toBe(true);
    expect(inspect(r.vps.postgres).HostConfig.RestartPolicy.Name).toBe("always");
    expect(inspect(r.vps.apis.ems).HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect(log.join("\n")).toContain("logged into PostgreSQL as ems_user on ems_production");
    expect(psqlIn(r.vps.postgres, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'sms_user'").trim()).not.toBe(
      "0",
    );
    expect(fs.existsSync(journal)).toBe(false);
    untouched();
  });

  test("a fresh cut-over killed at gate (the stack up) is resumed to the end: one system serves, the other system untouched", async () => {
    expect((await r.cutover({ killAt: "gate" })).result).toBeUndefined();
    expect(journalStep()).toBe("gate");
    const { result, log } = await r.cutover();
    expect(log[0]).toContain('interrupted at step "gate"');
    expect(result?.outcome).toBe("migrated");
    for (const c of oldNames().filter((c) => c !== r.vps.postgres)) expect(running(c)).toBe(false);
    expect(running(r.newApi("ems")!)).toBe(true);
    expect(running(r.newPostgres())).toBe(true);
    expect(fs.existsSync(journal)).toBe(false);
    untouched();
  });
});

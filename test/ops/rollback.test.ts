import * as fs from "fs";
import * as path from "path";
import type { UpdateSummary } from "@pulumi/pulumi/automation";
import { rollback } from "../../ops/commands/rollback";
import { readHistory } from "../../ops/history";

const main = rollback.main;
/** What the runner prints before the command runs (ops/runner/target.ts). */
const BANNER =
  "stack:       prod\nbackend:     file://~/.pulumi-ems-infra\ndocker host: this machine (unix:///var/run/docker.sock)\n";
import { fakeDeps, FakeHost, fakeIo, FakeStack, PROD_CONFIG } from "../support";

/** A fixture as Automation API's `stack.history()` returns it. */
function history(name: string): UpdateSummary[] {
  const text = fs.readFileSync(path.join(__dirname, "..", "fixtures", `history-${name}.json`), "utf8");
  return JSON.parse(text, (key, value) =>
    key === "startTime" || key === "endTime" ? new Date(value as string) : value,
  ) as UpdateSummary[];
}

/** The config as it was after update #9 of history-prod.json. */
const CONFIG_AT_9: Record<string, string> = {
  ...PROD_CONFIG,
  "ems-infra:services": JSON.stringify({
    ems: { version: "1.5.0", port: 8080 },
    sms: { version: "1.1.0", port: 8080 },
  }),
  "ems-infra:traefik": JSON.stringify({ image: "traefik:v3.3.5" }),
  "ems-infra:engine": JSON.stringify({ apiVersion: "1.51", swapLimit: true }),
};
/** That history's host ran Docker 28, which still accepts the API 1.24 those Traefik releases pin. */
const docker28 = () =>
  new FakeHost((command) => (command.startsWith("docker version") ? { stdout: "1.51 28.5.1\n" } : {}));

describe("rollback main: flow (fake stack)", () => {
  it("prints the history and the plan, sets the versions, previews, confirms and runs up", async () => {
    const stack = new FakeStack("prod", {
      config: CONFIG_AT_9,
      history: history("prod"),
      previewChanges: { replace: 1, same: 15 },
      upVersion: 10,
    });
    const deps = fakeDeps(stack, { host: docker28() });
    const io = fakeIo({ tty: true, answers: ["y"] });

    expect(await main(["--stack", "prod"], io, deps)).toBe(0);

    expect(deps.opened).toEqual([{ name: "prod", workDir: "/repo", create: false }]);
    expect(
      stack.calls.filter(
        (c) => !/^getConfig ems-infra:(docker|ssh|traefik|engine|system|postgres|platform|platformSwitch)$/.test(c),
      ),
    ).toEqual([
      "history 100/1 showSecrets=false",
      "exportStack",
      "getConfig ems-infra:services.ems.version --path",
      "setConfig ems-infra:services.ems.version=1.4.2 --path",
      "preview",
      "up rollback to update 6",
    ]);
    expect(stack.previewOptions).toMatchObject({ diff: true });
    expect(io.questions).toEqual(["Roll back stack prod to the versions of update #6? [y/N] "]);
    expect(io.stdout).toContain("Recent updates of stack prod (newest first):\n  update  started (UTC)");
    expect(io.stdout).toContain(
      "  #9      2025-03-14 18:02  succeeded  ems=1.5.0 sms=1.1.0 traefik:v3.3.5 postgres:16.6  (current) deploy ems 1.5.0\n",
    );
    expect(io.stdout).toContain(
      [
        "Rollback of stack prod: current update #9 → versions of update #6",
        "  ems-infra:services.ems.version  1.5.0 → 1.4.2",
        "note: only image versions are rolled back: other settings keep their current values",
        "",
      ].join("\n"),
    );
    expect(io.stdout).toMatch(
      /rolled back stack prod to the versions of update #6 \(update #10\): 1 replaced, 15 unchanged\n$/,
    );
    expect(io.stderr).toBe("");
  });

  it("rolls back to --to with several keys, and puts them all back on a no", async () => {
    const stack = new FakeStack("prod", {
      config: CONFIG_AT_9,
      history: history("prod"),
      previewChanges: { replace: 4 },
    });
    const io = fakeIo({ tty: true, answers: [""] });
    expect(await main(["--stack", "prod", "--to", "3"], io, fakeDeps(stack, { host: docker28() }))).toBe(1);
    expect(stack.calls.filter((c) => c.startsWith("setConfig"))).toEqual([
      "setConfig ems-infra:services.ems.version=1.4.2 --path",
      "setConfig ems-infra:services.sms.version=1.0.3 --path",
      "setConfig ems-infra:traefik.image=traefik:v3.3.4 --path",
      "setConfig ems-infra:postgres.image=postgres:16.4 --path",
      "setConfig ems-infra:postgres.image=postgres:16.6 --path",
      "setConfig ems-infra:traefik.image=traefik:v3.3.5 --path",
      "setConfig ems-infra:services.sms.version=1.1.0 --path",
      "setConfig ems-infra:services.ems.version=1.5.0 --path",
    ]);
    expect(stack.config).toEqual(CONFIG_AT_9);
    expect(io.stderr).toBe("aborted: nothing deployed; the stack config is back as it was\n");
  });

  it("exits 1 with the planner's message when there is nothing to roll back to", async () => {
    const stack = new FakeStack("prod", { history: [] });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe("error: nothing to roll back to: stack prod has no successful update\n");
    expect(io.stdout).toBe(BANNER + "Recent updates of stack prod (newest first):\nNo updates yet.\n\n");
    expect(stack.changes).toEqual([]);
  });

  it("refuses a Postgres major-version rollback before changing anything", async () => {
    const stack = new FakeStack("prod", { history: history("postgres-major") });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod", "--yes"], io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe(
      "error: refusing to roll back ems-infra:postgres.image from postgres:17.4 to postgres:16.6: " +
        "PostgreSQL 16 cannot open a data volume written by PostgreSQL 17; " +
        'restore a backup as described in README.md, section "Upgrading PostgreSQL to a new major version"\n',
    );
    expect(stack.changes).toEqual([]);
  });

  it("exits 1 with the planner's message for a bad --to", async () => {
    const stack = new FakeStack("prod", { history: history("prod") });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod", "--to", "8"], io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe(
      "error: --to 8: update #8 did not succeed (result: failed); pick an update that succeeded\n",
    );
  });

  it("restores the config when the preview fails", async () => {
    const stack = new FakeStack("prod", {
      config: CONFIG_AT_9,
      history: history("prod"),
      previewError: new Error("policy violation: image must be pinned"),
    });
    const io = fakeIo({ tty: true });
    expect(await main(["--stack", "prod"], io, fakeDeps(stack, { host: docker28() }))).toBe(1);
    expect(stack.calls.at(-1)).toBe("setConfig ems-infra:services.ems.version=1.5.0 --path");
    expect(io.stderr).toBe(
      "error: policy violation: image must be pinned; ems-infra:services.ems.version is back to 1.5.0\n",
    );
  });

  it("keeps the target versions when up fails, and says how to retry", async () => {
    const stack = new FakeStack("prod", {
      config: CONFIG_AT_9,
      history: history("prod"),
      previewChanges: { replace: 1 },
      upError: new Error("container unhealthy"),
    });
    const io = fakeIo();
    expect(await main(["--stack", "prod", "--yes"], io, fakeDeps(stack, { host: docker28() }))).toBe(1);
    expect(io.stderr).toBe(
      "error: pulumi up failed on stack prod: container unhealthy\n" +
        "The stack config now holds the versions of update #6: fix the cause and re-run this command with --to 6.\n" +
        "Containers of stack prod that are not running healthy:\nthe stack has no containers on the host\n",
    );
  });
});

describe("readHistory", () => {
  it("reads every page, newest first", async () => {
    const stack = new FakeStack("prod", { history: history("prod") });
    const all = await readHistory(stack, 4);
    expect(all.map((h) => h.version)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(stack.calls).toEqual([
      "history 4/1 showSecrets=false",
      "history 4/2 showSecrets=false",
      "history 4/3 showSecrets=false",
    ]);
  });

  it("stops when a backend ignores paging and repeats itself", async () => {
    const stack = new FakeStack("prod", { history: history("prod") });
    stack.history = async () => history("prod");
    expect((await readHistory(stack, 4)).map((h) => h.version)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it("stops at an exact multiple of the page size with an empty page", async () => {
    const stack = new FakeStack("prod", { history: history("prod").slice(0, 8) });
    expect(await readHistory(stack, 4)).toHaveLength(8);
    expect(stack.calls).toHaveLength(3);
  });
});

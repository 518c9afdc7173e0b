import * as fs from "fs";
import * as path from "path";
import { postgresMajor } from "../../components/imageRef";
import { describeVersions, formatHistory, HistoryEntry, planRollback, versionsOf } from "../../ops/rollbackPlan";

/** Reads a fixture as `pulumi stack history --json` prints it (dates as strings). */
function cliHistory(name: string): HistoryEntry[] {
  return JSON.parse(
    fs.readFileSync(path.join(__dirname, "..", "fixtures", `history-${name}.json`), "utf8"),
  ) as HistoryEntry[];
}

/** The same fixture as Automation API's `stack.history()` returns it (dates revived, like stack.js does). */
function automationHistory(name: string): HistoryEntry[] {
  const text = fs.readFileSync(path.join(__dirname, "..", "fixtures", `history-${name}.json`), "utf8");
  return JSON.parse(text, (key, value) =>
    key === "startTime" || key === "endTime" ? new Date(value as string) : value,
  ) as HistoryEntry[];
}

/** Drops `objectValue`, leaving the JSON string only (older CLIs, and the shape in the brief). */
function withoutObjectValues(history: HistoryEntry[]): HistoryEntry[] {
  return history.map((h) => ({
    ...h,
    config: Object.fromEntries(
      Object.entries(h.config ?? {}).map(([k, v]) => [k, { value: v.value, secret: v.secret }]),
    ),
  }));
}

function planError(history: HistoryEntry[], options: Parameters<typeof planRollback>[1]): string {
  try {
    planRollback(history, options);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected planRollback to throw");
}

const PG_DOC = 'README.md, section "Upgrading PostgreSQL to a new major version"';

describe("fixtures", () => {
  it("have the exact `pulumi stack history --json` fields", () => {
    for (const name of ["prod", "single", "failed", "same-versions", "postgres-major"]) {
      for (const entry of cliHistory(name)) {
        expect(Object.keys(entry).sort()).toEqual([
          "config",
          "endTime",
          "environment",
          "kind",
          "message",
          "resourceChanges",
          "result",
          "startTime",
          "version",
        ]);
        expect(entry.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        for (const value of Object.values(entry.config ?? {})) expect(typeof value.secret).toBe("boolean");
      }
    }
    expect(cliHistory("empty")).toEqual([]);
  });
});

describe("versionsOf", () => {
  it("reads service versions and the Traefik/Postgres images from object config values", () => {
    const [current] = cliHistory("prod");
    expect(versionsOf(current)).toEqual({
      "ems-infra:services.ems.version": "1.5.0",
      "ems-infra:services.sms.version": "1.1.0",
      "ems-infra:traefik.image": "traefik:v3.3.5",
      "ems-infra:postgres.image": "postgres:16.6",
    });
  });

  it("gives the same answer from the JSON string alone", () => {
    const [current] = withoutObjectValues(cliHistory("prod"));
    expect(current.config?.["ems-infra:services"]).toEqual({
      value: '{"ems":{"port":8080,"version":"1.5.0"},"sms":{"port":8080,"version":"1.1.0"}}',
      secret: false,
    });
    expect(versionsOf(current)["ems-infra:services.ems.version"]).toBe("1.5.0");
  });

  it("leaves keys that were not set undefined", () => {
    const first = cliHistory("prod").find((h) => h.version === 1)!;
    expect(versionsOf(first)).toEqual({
      "ems-infra:services.ems.version": "1.3.0",
      "ems-infra:traefik.image": undefined,
      "ems-infra:postgres.image": "postgres:15.8",
    });
    expect(versionsOf({ version: 1, kind: "update", result: "succeeded" })).toEqual({
      "ems-infra:traefik.image": undefined,
      "ems-infra:postgres.image": undefined,
    });
  });
});

describe("planRollback", () => {
  it("rolls back to the last successful update before the current one, skipping failures and refreshes", () => {
    const plan = planRollback(cliHistory("prod"), { stack: "prod" });
    expect(plan.from).toEqual({
      update: 9,
      versions: {
        "ems-infra:services.ems.version": "1.5.0",
        "ems-infra:services.sms.version": "1.1.0",
        "ems-infra:traefik.image": "traefik:v3.3.5",
        "ems-infra:postgres.image": "postgres:16.6",
      },
    });
    expect(plan.to.update).toBe(6);
    expect(plan.to.versions["ems-infra:services.ems.version"]).toBe("1.4.2");
    expect(plan.changes).toEqual([{ key: "ems-infra:services.ems.version", from: "1.5.0", to: "1.4.2" }]);
    expect(plan.notes).toEqual(["only image versions are rolled back: other settings keep their current values"]);
  });

  it("accepts the Automation API shape (Date objects) and any order", () => {
    const history = automationHistory("prod");
    expect(history[0].startTime).toBeInstanceOf(Date);
    const shuffled = [...history].reverse();
    expect(planRollback(shuffled, { stack: "prod" })).toEqual(planRollback(cliHistory("prod"), { stack: "prod" }));
    expect(planRollback(withoutObjectValues(history), { stack: "prod" })).toEqual(
      planRollback(cliHistory("prod"), { stack: "prod" }),
    );
  });

  it("rolls back to --to, including Traefik and a same-major Postgres image", () => {
    const plan = planRollback(cliHistory("prod"), { stack: "prod", to: 3 });
    expect(plan.from.update).toBe(9);
    expect(plan.to.update).toBe(3);
    expect(plan.changes).toEqual([
      { key: "ems-infra:services.ems.version", from: "1.5.0", to: "1.4.2" },
      { key: "ems-infra:services.sms.version", from: "1.1.0", to: "1.0.3" },
      { key: "ems-infra:traefik.image", from: "traefik:v3.3.5", to: "traefik:v3.3.4" },
      { key: "ems-infra:postgres.image", from: "postgres:16.6", to: "postgres:16.4" },
    ]);
  });

  it("notes newer failed updates: the host may be half-way", () => {
    const history = cliHistory("prod");
    const failed: HistoryEntry = { ...history[0], version: 10, result: "failed", message: "deploy ems 1.6.0" };
    const plan = planRollback([failed, ...history], { stack: "prod" });
    expect(plan.from.update).toBe(9);
    expect(plan.to.update).toBe(6);
    expect(plan.notes).toEqual([
      "update #10 (newer than the current #9) failed: the host may be partly on its versions",
      "only image versions are rolled back: other settings keep their current values",
    ]);
  });

  it("notes services that did not exist at the target, and keys the target left to the program default", () => {
    const history = cliHistory("same-versions");
    // A target that predates sms and left Traefik to its default.
    const target: HistoryEntry = {
      version: 0,
      kind: "update",
      result: "succeeded",
      config: {
        "ems-infra:services": { value: '{"ems":{"version":"1.3.9"}}', secret: false },
        "ems-infra:postgres": { value: '{"image":"postgres:16.2"}', secret: false },
      },
    };
    const plan = planRollback([...history, target], { stack: "prod", to: 0 });
    expect(plan.changes).toEqual([
      { key: "ems-infra:services.ems.version", from: "1.4.2", to: "1.3.9" },
      { key: "ems-infra:postgres.image", from: "postgres:16.6", to: "postgres:16.2" },
    ]);
    expect(plan.notes).toEqual([
      "sms did not exist at update #0: it stays at 1.1.0",
      "ems-infra:traefik.image was not set at update #0 (program default): it stays at traefik:v3.3.5",
      "only image versions are rolled back: other settings keep their current values",
    ]);
  });

  it("notes services removed since the target instead of bringing them back", () => {
    const [current] = cliHistory("single").filter((h) => h.kind === "update");
    const onlyEms: HistoryEntry = {
      ...current,
      version: 5,
      config: { ...current.config, "ems-infra:services": { value: '{"ems":{"version":"1.5.0"}}', secret: false } },
    };
    const plan = planRollback([onlyEms, current], { stack: "dev" });
    expect(plan.changes).toEqual([{ key: "ems-infra:services.ems.version", from: "1.5.0", to: "1.4.2" }]);
    expect(plan.notes[0]).toBe("sms is no longer deployed (it was at 1.1.0 in update #1): it is not brought back");
  });

  describe("refuses", () => {
    it("an empty history", () => {
      expect(planError(cliHistory("empty"), { stack: "prod" })).toBe(
        "nothing to roll back to: stack prod has no successful update",
      );
      expect(planError([], {})).toBe("nothing to roll back to: the stack has no successful update");
    });

    it("a history without a successful update", () => {
      expect(planError(cliHistory("failed"), { stack: "dev" })).toBe(
        "nothing to roll back to: stack dev has no successful update",
      );
    });

    it("a history with only one successful update (previews do not count)", () => {
      expect(planError(cliHistory("single"), { stack: "dev" })).toBe(
        "nothing to roll back to: stack dev has only one successful update (#1)",
      );
    });

    it("--to that is not in the history", () => {
      expect(planError(cliHistory("prod"), { stack: "prod", to: 42 })).toBe(
        "--to 42: stack prod has no update #42 (its updates run from #1 to #9)",
      );
    });

    it("--to that names a failed update", () => {
      expect(planError(cliHistory("prod"), { stack: "prod", to: 8 })).toBe(
        "--to 8: update #8 did not succeed (result: failed); pick an update that succeeded",
      );
    });

    it("--to that names a refresh", () => {
      expect(planError(cliHistory("prod"), { stack: "prod", to: 7 })).toBe(
        "--to 7: #7 is a refresh, not an update; pick an update that succeeded",
      );
    });

    it("--to that names the current update", () => {
      expect(planError(cliHistory("prod"), { stack: "prod", to: 9 })).toBe(
        "--to 9: update #9 is the current deployment; pick an earlier update",
      );
      expect(planError(cliHistory("single"), { stack: "dev", to: 1 })).toBe(
        "--to 1: update #1 is the current deployment; pick an earlier update",
      );
    });

    it("a target with the same versions as the current update", () => {
      expect(planError(cliHistory("same-versions"), { stack: "prod" })).toBe(
        "nothing to roll back: update #3 deployed the same versions as the current update #4",
      );
    });

    it("a Postgres major-version change, pointing to the upgrade procedure", () => {
      expect(planError(cliHistory("postgres-major"), { stack: "prod" })).toBe(
        "refusing to roll back ems-infra:postgres.image from postgres:17.4 to postgres:16.6: " +
          "PostgreSQL 16 cannot open a data volume written by PostgreSQL 17; " +
          `restore a backup as described in ${PG_DOC}`,
      );
      expect(planError(cliHistory("prod"), { stack: "prod", to: 1 })).toBe(
        "refusing to roll back ems-infra:postgres.image from postgres:16.6 to postgres:15.8: " +
          "PostgreSQL 15 cannot open a data volume written by PostgreSQL 16; " +
          `restore a backup as described in ${PG_DOC}`,
      );
      // Rolling "forward" across a major is just as impossible.
      expect(planError(cliHistory("same-versions"), { stack: "prod", to: 2 })).toBe(
        "refusing to roll back ems-infra:postgres.image from postgres:16.6 to postgres:17.2: " +
          "PostgreSQL 17 cannot open a data volume written by PostgreSQL 16; " +
          `restore a backup as described in ${PG_DOC}`,
      );
    });

    it("a Postgres change whose major version cannot be told", () => {
      const history = cliHistory("postgres-major");
      history[1].config!["ems-infra:postgres"] = {
        value: `{"image":"postgres@sha256:${"a".repeat(64)}"}`,
        secret: false,
      };
      expect(planError(history, { stack: "prod" })).toBe(
        `refusing to roll back ems-infra:postgres.image from postgres:17.4 to postgres@sha256:${"a".repeat(64)}: ` +
          `cannot tell the PostgreSQL major version of postgres@sha256:${"a".repeat(64)}, ` +
          `and a major-version change cannot reuse the data volume; see ${PG_DOC}`,
      );
    });
  });
});

describe("postgresMajor", () => {
  it.each([
    ["postgres:16.6", 16],
    ["postgres:16", 16],
    ["postgres:15-alpine", 15],
    ["postgres:17.2-bookworm", 17],
    ["registry.local:5000/postgres:14.9", 14],
    ["postgres", undefined],
    ["postgres:latest", undefined],
    ["registry.local:5000/postgres", undefined],
    [`postgres@sha256:${"b".repeat(64)}`, undefined],
    // A digest-pinned tag still names its major: a rollback between two pinned images is checked too.
    [`postgres:17.6@sha256:${"b".repeat(64)}`, 17],
    [undefined, undefined],
  ])("%s → %s", (image, major) => {
    expect(postgresMajor(image)).toBe(major);
  });
});

describe("formatHistory", () => {
  it("lists updates newest first with the versions each deployed", () => {
    expect(formatHistory(cliHistory("prod"))).toBe(
      [
        "  update  started (UTC)     result     versions                                          message",
        "  #9      2025-03-14 18:02  succeeded  ems=1.5.0 sms=1.1.0 traefik:v3.3.5 postgres:16.6  (current) deploy ems 1.5.0",
        "  #8      2025-03-14 17:40  failed     ems=1.5.0 sms=1.1.0 traefik:v3.3.5 postgres:16.6  deploy ems 1.5.0",
        "  #6      2025-03-03 20:15  succeeded  ems=1.4.2 sms=1.1.0 traefik:v3.3.5 postgres:16.6  deploy sms 1.1.0",
        "  #5      2025-02-20 21:30  succeeded  ems=1.4.2 sms=1.0.3 traefik:v3.3.5 postgres:16.6  upgrade traefik and postgres (same major)",
        "  #4      2025-02-20 21:10  failed     ems=1.4.2 sms=1.0.3 traefik:v3.3.5 postgres:16.6  upgrade traefik and postgres (same major)",
        "  #3      2025-02-01 10:00  succeeded  ems=1.4.2 sms=1.0.3 traefik:v3.3.4 postgres:16.4  deploy ems 1.4.2",
        "  #2      2025-01-15 10:00  succeeded  ems=1.4.0 sms=1.0.3 traefik:v3.3.4 postgres:16.4  add sms; postgres 16",
        "  #1      2025-01-10 14:02  succeeded  ems=1.3.0 traefik=(default) postgres:15.8         first deploy",
        "",
      ].join("\n"),
    );
  });

  it("prints the same from the Automation API shape, and honours the limit", () => {
    const text = formatHistory(automationHistory("prod"), { limit: 2 });
    expect(text.split("\n")).toEqual([
      "  update  started (UTC)     result     versions                                          message",
      "  #9      2025-03-14 18:02  succeeded  ems=1.5.0 sms=1.1.0 traefik:v3.3.5 postgres:16.6  (current) deploy ems 1.5.0",
      "  #8      2025-03-14 17:40  failed     ems=1.5.0 sms=1.1.0 traefik:v3.3.5 postgres:16.6  deploy ems 1.5.0",
      "  … 6 older update(s) not shown",
      "",
    ]);
  });

  it("says so when there is no update", () => {
    expect(formatHistory([])).toBe("No updates yet.\n");
    expect(formatHistory(cliHistory("failed").filter((h) => h.kind !== "update"))).toBe("No updates yet.\n");
  });
});

describe("describeVersions", () => {
  it("is compact", () => {
    expect(
      describeVersions({
        "ems-infra:services.ems.version": "1.4.2",
        "ems-infra:traefik.image": "traefik:v3.3.5",
        "ems-infra:postgres.image": undefined,
      }),
    ).toBe("ems=1.4.2 traefik:v3.3.5 postgres=(default)");
  });
});

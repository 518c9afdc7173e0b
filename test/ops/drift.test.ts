import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { UsageError } from "../../ops/runner/args";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { drift } from "../../ops/commands/drift";
import { DriftEvent, formatDrift, summarizeDrift } from "../../ops/driftReport";
import { captureOnHost, HostShell } from "../../ops/runner/hostShell";
import type { HostExpectations } from "../../ops/hostDrift";
import { T } from "../support";
import { fakeDeps, FakeHost, fakeIo, FakeStack, FakeStackOptions, prodOutputs } from "../support";

const [main, parseDriftArgs] = [drift.main, drift.parse];

const URN = "urn:pulumi:prod::ems-infra";
const CONTAINER = T.container;

/** The prod stack's hostExpectations output (stacks/system.ts), as a deploy of Pulumi.prod.yaml leaves it. */
const PROD_EXPECTATIONS: HostExpectations = {
  folders: [
    { path: "/root/infra/letsencrypt", mode: "700" },
    { path: "/root/infra/traefik/dynamic", mode: "700" },
    { path: "/root/ems_system/.secrets", mode: "700" },
    { path: "/root/ems_system/data/uploads/ems" },
    { path: "/root/ems_system/data/uploads/sms" },
    { path: "/root/ems_system/data/backups" },
  ],
  cron: {
    job: "ems_system-backup",
    line: "0 3 * * * /root/ems_system/data/bin/backup.sh >>/root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup",
  },
  postgres: {
    container: "ems_system-postgres",
    superuser: "postgres",
    roles: ["ems_user", "sms_user"],
    databases: [
      { name: "ems_production", owner: "ems_user" },
      { name: "sms_production", owner: "sms_user" },
    ],
  },
};

/** A deployed prod stack: it has the hostExpectations output the host check is built from. */
function deployed(options: FakeStackOptions = {}): FakeStack {
  return new FakeStack("prod", {
    ...options,
    outputs: prodOutputs({ hostExpectations: PROD_EXPECTATIONS, ...options.outputs }),
  });
}

/** A host whose check prints `lines` and exits `code` (the script's own contract: 1 differences, 2 incomplete). */
function checkedHost(code: number, lines: string[] = []): FakeHost {
  return new FakeHost((command) =>
    command.startsWith("sh -c ") && command.includes(" host-check ")
      ? { code, stdout: lines.map((l) => `${l}\n`).join("") }
      : {},
  );
}

/** A resourcePreEvent as the engine sends it during `pulumi preview --refresh`. */
function pre(
  op: OpType,
  name: string,
  extra: {
    type?: string;
    diffs?: string[];
    keys?: string[];
    detailedDiff?: Record<string, { kind: string; inputDiff: boolean }>;
  } = {},
): EngineEvent {
  const type = extra.type ?? CONTAINER;
  const urn = `${URN}::ems-infra:index:EmsSystem$${type}::${name}`;
  return {
    sequence: 1,
    timestamp: 1741975331,
    resourcePreEvent: {
      metadata: {
        op,
        urn,
        type,
        provider: `${URN}::pulumi:providers:docker::vps::0c4b8d0e`,
        ...(extra.diffs ? { diffs: extra.diffs } : {}),
        ...(extra.keys ? { keys: extra.keys } : {}),
        // The engine sends DiffKind strings; the SDK types them as an enum.
        ...(extra.detailedDiff ? { detailedDiff: extra.detailedDiff as never } : {}),
      },
      planning: true,
    },
  };
}

const NOISE: EngineEvent[] = [
  { sequence: 0, timestamp: 1741975330, preludeEvent: { config: {} } },
  pre("refresh", "ems-api", { diffs: ["state"] }),
  pre("refresh", "postgres"),
  pre("same", "postgres"),
  pre("read", "proxy-network", { type: "docker:index/network:Network" }),
  {
    sequence: 9,
    timestamp: 1741975339,
    diagnosticEvent: { message: "warning: x", color: "never", severity: "warning" },
  },
  {
    sequence: 10,
    timestamp: 1741975340,
    summaryEvent: { maybeCorrupt: false, durationSeconds: 3, resourceChanges: { same: 16 }, policyPacks: {} },
  },
];

describe("summarizeDrift", () => {
  it("finds nothing when every step is same/refresh/read", () => {
    expect(summarizeDrift(NOISE)).toEqual([]);
    expect(summarizeDrift([])).toEqual([]);
  });

  it("lists updated, missing and replaced resources once each, with what differs", () => {
    const events: EngineEvent[] = [
      ...NOISE,
      pre("update", "ems-api", {
        diffs: ["envs", "image"],
        detailedDiff: { "envs[3]": { kind: "update", inputDiff: true } },
      }),
      pre("create", "traefik"),
      pre("create-replacement", "sms-api", { keys: ["image"], diffs: ["image"] }),
      pre("replace", "sms-api", { keys: ["image"], diffs: ["image", "labels"] }),
      pre("delete-replaced", "sms-api"),
      pre("delete", "old-volume", { type: "docker:index/volume:Volume" }),
    ];
    expect(summarizeDrift(events)).toEqual([
      {
        urn: `${URN}::ems-infra:index:EmsSystem$${CONTAINER}::ems-api`,
        name: "ems-api",
        type: CONTAINER,
        op: "update",
        diffs: ["envs", "envs[3]", "image"],
      },
      {
        urn: `${URN}::ems-infra:index:EmsSystem$${CONTAINER}::traefik`,
        name: "traefik",
        type: CONTAINER,
        op: "create",
        diffs: [],
      },
      {
        urn: `${URN}::ems-infra:index:EmsSystem$${CONTAINER}::sms-api`,
        name: "sms-api",
        type: CONTAINER,
        op: "replace",
        diffs: ["image", "labels"],
      },
      {
        urn: `${URN}::ems-infra:index:EmsSystem$docker:index/volume:Volume::old-volume`,
        name: "old-volume",
        type: "docker:index/volume:Volume",
        op: "delete",
        diffs: [],
      },
    ]);
  });

  it("accepts minimal hand-built events", () => {
    const events: DriftEvent[] = [
      {
        resourcePreEvent: {
          metadata: {
            op: "update",
            urn: "urn:pulumi:prod::ems-infra::docker:index/container:Container::pg",
            type: "x",
          },
        },
      },
      {},
    ];
    expect(summarizeDrift(events)).toEqual([
      {
        urn: "urn:pulumi:prod::ems-infra::docker:index/container:Container::pg",
        name: "pg",
        type: "x",
        op: "update",
        diffs: [],
      },
    ]);
  });

  it("classifies unexpected ops as other", () => {
    expect(summarizeDrift([pre("remove-pending-replace", "ems-api")])[0].op).toBe("other");
  });
});

describe("formatDrift", () => {
  it("is a readable, aligned list with the way out", () => {
    const items = summarizeDrift([
      pre("update", "ems-api", { diffs: ["envs", "image"] }),
      pre("create", "traefik"),
      pre("replace", "postgres", { diffs: ["image"] }),
    ]);
    expect(formatDrift(items, "prod")).toBe(
      [
        "drift: stack prod differs from the live host (3 resources):",
        "  ~ update    ems-api (docker:index/container:Container)   differs in: envs, image",
        "  + create    traefik (docker:index/container:Container)   missing on the host: would be created",
        "  +- replace  postgres (docker:index/container:Container)  would be replaced; differs in: image",
        "",
        "To put the host back as the program describes it: npm run deploy -- --stack prod",
        "To keep a change made on the host, bring it into the program or the stack config instead.",
        "",
      ].join("\n"),
    );
  });

  it("uses the singular for one resource", () => {
    expect(formatDrift(summarizeDrift([pre("delete", "x")]), "dev").split("\n")[0]).toBe(
      "drift: stack dev differs from the live host (1 resource):",
    );
  });
});

describe("parseDriftArgs", () => {
  it("parses --stack", () => {
    expect(parseDriftArgs(["--stack", "prod"])).toEqual({ help: false, options: { stack: "prod", rest: [] } });
    expect(parseDriftArgs(["--help"])).toEqual({ help: true });
  });

  it("refuses everything else", () => {
    expect(() => parseDriftArgs([])).toThrow(new UsageError("missing required flag --stack <name>"));
    expect(() => parseDriftArgs(["--stack", "prod", "--yes"])).toThrow(
      new UsageError("unknown flag --yes; valid flags: --stack, --help"),
    );
  });
});

describe("drift main", () => {
  it("prints the usage for --help and exits 0 without opening a stack", async () => {
    const io = fakeIo();
    const deps = fakeDeps(new Error("must not be called"));
    expect(await main(["--help"], io, deps)).toBe(0);
    expect(io.stdout).toBe(
      [
        "Usage: npm run drift -- --stack <name>",
        "",
        "Checks that the live host still matches the program: refreshes the state from the host, then previews; then checks " +
          "the host's folders, backup cron entry and database roles, which a refresh never re-reads. Exits 0 when nothing differs, 1 when something does (or the check could not run).",
        "",
        "Flags:",
        "  -s, --stack <name>  Stack to check, e.g. prod (required)",
        "  -h, --help          Show this help and exit",
        "",
        "Nothing is changed: neither the host nor the stack's state (the refresh is part of the preview; the host check only reads).",
        "",
        "Examples:",
        "  npm run drift -- --stack prod",
        "",
      ].join("\n"),
    );
    expect(deps.opened).toEqual([]);
  });

  it("exits 2 on an unknown flag", async () => {
    const io = fakeIo();
    expect(await main(["--stack", "prod", "--refresh"], io, fakeDeps(new Error("unused")))).toBe(2);
    expect(io.stderr).toBe(
      "error: unknown flag --refresh; valid flags: --stack, --help\nRun `npm run drift -- --help` for usage.\n",
    );
  });

  it("exits 0 when the host matches, running a refresh preview that expects no changes, then the host check", async () => {
    const stack = deployed({ previewEvents: NOISE });
    const host = checkedHost(0);
    const deps = fakeDeps(stack, { host });
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, deps)).toBe(0);
    expect(deps.opened).toEqual([{ name: "prod", workDir: "/repo", create: false }]);
    expect(stack.previewOptions).toMatchObject({ refresh: true, expectNoChanges: true, diff: true });
    expect(typeof stack.previewOptions?.onEvent).toBe("function");
    expect(stack.changes).toEqual(["preview"]);
    expect(host.commands).toHaveLength(1);
    expect(host.commands[0].command).toContain(" host-check --folder 700:/root/infra/letsencrypt ");
    expect(io.stdout).toBe(
      "stack:       prod\nbackend:     file://~/.pulumi-ems-infra\ndocker host: this machine (unix:///var/run/docker.sock)\n" +
        "Refreshing stack prod from the live host and previewing…\nPreviewing update (fake):\n\n" +
        "Checking the host's folders, backup cron entry, database roles and owners…\n\nno drift: stack prod matches the live host\n",
    );
  });

  it("is red when only the host side differs, naming each difference", async () => {
    const host = checkedHost(1, [
      "folder /root/infra/letsencrypt: mode 755, want 700",
      "cron: ems-infra:ems_system-backup entry missing",
      "database sms_production: owner postgres, want sms_user",
    ]);
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, fakeDeps(deployed({ previewEvents: NOISE }), { host }))).toBe(1);
    expect(io.stdout).toContain(
      [
        "drift: the host of stack prod differs from what the program made (3 differences):",
        "  folder /root/infra/letsencrypt: mode 755, want 700",
        "  cron: ems-infra:ems_system-backup entry missing",
        "  database sms_production: owner postgres, want sms_user",
      ].join("\n"),
    );
    expect(io.stdout).not.toContain("no drift");
  });

  it("reports both parts when both differ", async () => {
    const stack = deployed({
      previewEvents: [...NOISE, pre("update", "ems-api", { diffs: ["image"] })],
      previewError: new Error("error: no changes were expected but changes were proposed"),
    });
    const io = fakeIo();
    expect(
      await main(["--stack", "prod"], io, fakeDeps(stack, { host: checkedHost(1, ["role sms_user: missing"]) })),
    ).toBe(1);
    expect(io.stdout).toContain("drift: stack prod differs from the live host (1 resource):");
    expect(io.stdout).toContain("(1 difference):\n  role sms_user: missing\n");
  });

  it("is red when a host check could not run (exit 2), or the stack was deployed before hostExpectations", async () => {
    const io = fakeIo();
    const host = checkedHost(2, [
      "roles: cannot query ems_system-postgres: Error response from daemon: No such container: ems_system-postgres",
    ]);
    expect(await main(["--stack", "prod"], io, fakeDeps(deployed({ previewEvents: NOISE }), { host }))).toBe(1);
    expect(io.stdout).toContain(
      "(1 difference; some checks could not run):\n  roles: cannot query ems_system-postgres",
    );

    const old = fakeIo();
    const { hostExpectations: _, ...before } = prodOutputs();
    const older = new FakeStack("prod", { previewEvents: NOISE, outputs: before });
    expect(await main(["--stack", "prod"], old, fakeDeps(older))).toBe(1);
    expect(old.stderr).toBe(
      "error: host check of stack prod failed: stack prod was deployed by an older version of ems-infra: its outputs lack " +
        "hostExpectations; deploy it once with this version (npm run deploy -- --stack prod), then re-run this command\n",
    );
  });

  it("runs the real check against this machine's folders: a missing folder and a wrong mode are named, a clean host is green", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ems drift "));
    try {
      const acme = path.join(root, "infra", "letsencrypt");
      fs.mkdirSync(acme, { recursive: true, mode: 0o755 });
      fs.chmodSync(acme, 0o755);
      const expectations: HostExpectations = {
        folders: [{ path: acme, mode: "700" }, { path: path.join(root, "data", "backups") }],
      };
      const local: HostShell = {
        run: async () => 0,
        capture: (_target, command, options) => captureOnHost("local", command, options),
      };
      const io = fakeIo();
      const stack = () =>
        new FakeStack("dev", { previewEvents: NOISE, outputs: prodOutputs({ hostExpectations: expectations }) });
      expect(await main(["--stack", "dev"], io, fakeDeps(stack(), { host: local }))).toBe(1);
      expect(io.stdout).toContain(
        `(2 differences):\n  folder ${acme}: mode 755, want 700\n  folder ${path.join(root, "data", "backups")}: missing\n`,
      );

      fs.chmodSync(acme, 0o700);
      fs.mkdirSync(path.join(root, "data", "backups"), { recursive: true });
      const clean = fakeIo();
      expect(await main(["--stack", "dev"], clean, fakeDeps(stack(), { host: local }))).toBe(0);
      expect(clean.stdout).toMatch(/no drift: stack dev matches the live host\n$/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("exits 1 with the list when the preview finds changes", async () => {
    const stack = deployed({
      previewEvents: [...NOISE, pre("update", "ems-api", { diffs: ["image"] })],
      previewError: new Error("code: 255\n stderr: error: no changes were expected but changes were proposed\n"),
    });
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(1);
    expect(io.stdout).toContain(
      "\ndrift: stack prod differs from the live host (1 resource):\n  ~ update  ems-api (docker:index/container:Container)  differs in: image\n",
    );
    expect(io.stderr).toBe("");
  });

  it("exits 1 when the engine reports changes without resource details", async () => {
    const stack = deployed({ previewError: new Error("error: no changes were expected but changes were proposed") });
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(1);
    expect(io.stdout).toContain("\ndrift: stack prod differs from the live host (see the preview above)\n");
    expect(io.stdout).not.toContain("no drift");
  });

  it("exits 1 with the error when the check cannot run", async () => {
    const stack = deployed({
      previewError: new Error("error: ssh: connect to host vps port 22: Connection refused\n"),
    });
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe(
      "error: drift check of stack prod failed: error: ssh: connect to host vps port 22: Connection refused\n",
    );
    expect(io.stdout).not.toContain("no drift");
  });

  it("exits 1 when the stack cannot be opened", async () => {
    const io = fakeIo();
    const notFound = Object.assign(new Error("no stack named 'prod' found"), { name: "StackNotFoundError" });
    expect(await main(["--stack", "prod"], io, fakeDeps(notFound))).toBe(1);
    expect(io.stderr).toBe("error: no stack named 'prod' found\n(does the stack exist? `pulumi stack ls`)\n");
  });
});

import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { UsageError } from "../../ops/args";
import { DriftEvent, formatDrift, main, parseDriftArgs, summarizeDrift } from "../../ops/drift";
import { fakeDeps, fakeIo, FakeStack } from "./fakes";

const URN = "urn:pulumi:prod::ems-infra";
const CONTAINER = "docker:index/container:Container";

/** A resourcePreEvent as the engine sends it during `pulumi preview --refresh`. */
function pre(op: OpType, name: string, extra: { type?: string; diffs?: string[]; keys?: string[]; detailedDiff?: Record<string, { kind: string; inputDiff: boolean }> } = {}): EngineEvent {
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
  { sequence: 9, timestamp: 1741975339, diagnosticEvent: { message: "warning: x", color: "never", severity: "warning" } },
  { sequence: 10, timestamp: 1741975340, summaryEvent: { maybeCorrupt: false, durationSeconds: 3, resourceChanges: { same: 16 }, policyPacks: {} } },
];

describe("summarizeDrift", () => {
  it("finds nothing when every step is same/refresh/read", () => {
    expect(summarizeDrift(NOISE)).toEqual([]);
    expect(summarizeDrift([])).toEqual([]);
  });

  it("lists updated, missing and replaced resources once each, with what differs", () => {
    const events: EngineEvent[] = [
      ...NOISE,
      pre("update", "ems-api", { diffs: ["envs", "image"], detailedDiff: { "envs[3]": { kind: "update", inputDiff: true } } }),
      pre("create", "traefik"),
      pre("create-replacement", "sms-api", { keys: ["image"], diffs: ["image"] }),
      pre("replace", "sms-api", { keys: ["image"], diffs: ["image", "labels"] }),
      pre("delete-replaced", "sms-api"),
      pre("delete", "old-volume", { type: "docker:index/volume:Volume" }),
    ];
    expect(summarizeDrift(events)).toEqual([
      { urn: `${URN}::ems-infra:index:EmsSystem$${CONTAINER}::ems-api`, name: "ems-api", type: CONTAINER, op: "update", diffs: ["envs", "envs[3]", "image"] },
      { urn: `${URN}::ems-infra:index:EmsSystem$${CONTAINER}::traefik`, name: "traefik", type: CONTAINER, op: "create", diffs: [] },
      { urn: `${URN}::ems-infra:index:EmsSystem$${CONTAINER}::sms-api`, name: "sms-api", type: CONTAINER, op: "replace", diffs: ["image", "labels"] },
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
    const events: DriftEvent[] = [{ resourcePreEvent: { metadata: { op: "update", urn: "urn:pulumi:prod::ems-infra::docker:index/container:Container::pg", type: "x" } } }, {}];
    expect(summarizeDrift(events)).toEqual([{ urn: "urn:pulumi:prod::ems-infra::docker:index/container:Container::pg", name: "pg", type: "x", op: "update", diffs: [] }]);
  });

  it("classifies unexpected ops as other", () => {
    expect(summarizeDrift([pre("remove-pending-replace", "ems-api")])[0].op).toBe("other");
  });
});

describe("formatDrift", () => {
  it("is a readable, aligned list with the way out", () => {
    const items = summarizeDrift([pre("update", "ems-api", { diffs: ["envs", "image"] }), pre("create", "traefik"), pre("replace", "postgres", { diffs: ["image"] })]);
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
    expect(formatDrift(summarizeDrift([pre("delete", "x")]), "dev").split("\n")[0]).toBe("drift: stack dev differs from the live host (1 resource):");
  });
});

describe("parseDriftArgs", () => {
  it("parses --stack", () => {
    expect(parseDriftArgs(["--stack", "prod"])).toEqual({ help: false, options: { stack: "prod" } });
    expect(parseDriftArgs(["--help"])).toEqual({ help: true });
  });

  it("refuses everything else", () => {
    expect(() => parseDriftArgs([])).toThrow(new UsageError("missing required flag --stack <name>"));
    expect(() => parseDriftArgs(["--stack", "prod", "--yes"])).toThrow(new UsageError("unknown flag --yes; valid flags: --stack, --help"));
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
        "Checks that the live host still matches the program: refreshes the state from the host, then previews. " +
          "Exits 0 when nothing differs, 1 when something does (or the check could not run).",
        "",
        "Flags:",
        "  --stack <name>  Stack to check, e.g. prod (required)",
        "  -h, --help      Show this help and exit",
        "",
        "Nothing is changed: neither the host nor the stack's state (the refresh is part of the preview).",
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
    expect(io.stderr).toBe("error: unknown flag --refresh; valid flags: --stack, --help\nRun `npm run drift -- --help` for usage.\n");
  });

  it("exits 0 when the host matches, running a refresh preview that expects no changes", async () => {
    const stack = new FakeStack("prod", { previewEvents: NOISE });
    const deps = fakeDeps(stack);
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, deps)).toBe(0);
    expect(deps.opened).toEqual([{ name: "prod", workDir: "/repo", create: false }]);
    expect(stack.previewOptions).toMatchObject({ refresh: true, expectNoChanges: true, diff: true });
    expect(typeof stack.previewOptions?.onEvent).toBe("function");
    expect(stack.calls).toEqual(["preview"]);
    expect(io.stdout).toBe(
      "Refreshing stack prod from the live host and previewing…\nPreviewing update (fake):\n\nno drift: stack prod matches the live host\n",
    );
  });

  it("exits 1 with the list when the preview finds changes", async () => {
    const stack = new FakeStack("prod", {
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
    const stack = new FakeStack("prod", { previewError: new Error("error: no changes were expected but changes were proposed") });
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(1);
    expect(io.stdout).toMatch(/\ndrift: stack prod differs from the live host \(see the preview above\)\n$/);
  });

  it("exits 1 with the error when the check cannot run", async () => {
    const stack = new FakeStack("prod", { previewError: new Error("error: ssh: connect to host vps port 22: Connection refused\n") });
    const io = fakeIo();
    expect(await main(["--stack", "prod"], io, fakeDeps(stack))).toBe(1);
    expect(io.stderr).toBe("error: drift check of stack prod failed: error: ssh: connect to host vps port 22: Connection refused\n");
    expect(io.stdout).not.toContain("no drift");
  });

  it("exits 1 when the stack cannot be opened", async () => {
    const io = fakeIo();
    const notFound = Object.assign(new Error("no stack named 'prod' found"), { name: "StackNotFoundError" });
    expect(await main(["--stack", "prod"], io, fakeDeps(notFound))).toBe(1);
    expect(io.stderr).toBe("error: drift check of stack prod failed: no stack named 'prod' found\n(does the stack exist? `pulumi stack ls`)\n");
  });
});

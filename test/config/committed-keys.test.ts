/**
 * Every committed config key, removed or given a wrong type, yields either a working default or an error
 * naming that key — never a stack trace, never `undefined` in a resource. Generated from Pulumi.dev.yaml and
 * Pulumi.prod.yaml: each top-level key and each nested field, removed, and replaced by values of other types.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, StackConfig, parseStackConfig } from "../../stacks/config";
import { runStack, TEST_SECRETS } from "../support";
import { allStrings } from "../stacks/helpers";

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

interface Variant {
  stack: "dev" | "prod";
  /** `<key>` or `<key>.<field>...` below `ems-infra:`. */
  key: string;
  change: string;
  config: Record<string, string>;
}

function committed(stack: string): Record<string, Json> {
  const file = YAML.parse(fs.readFileSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, Json>;
  };
  return Object.fromEntries(Object.entries(file.config).map(([k, v]) => [k.replace(/^ems-infra:/, ""), v]));
}

/** Values of other types than `value` has. */
function wrongTypes(value: Json): [string, Json][] {
  if (typeof value === "string")
    return [
      ["a number", 42],
      ["a mapping", { wrong: true }],
      ["a list", ["x"]],
    ];
  if (typeof value === "number")
    return [
      ["a string", "not-a-number"],
      ["a mapping", {}],
    ];
  if (typeof value === "boolean") return [["a string", "yes"]];
  return [
    ["a string", "text"],
    ["a number", 7],
    ["a list", []],
  ];
}

/** Every key path of a value: [] for the value itself, then each nested field. */
function paths(value: Json, prefix: string[] = []): string[][] {
  const out = [prefix];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

/** The config as Pulumi passes it: full keys, scalars as text, objects as JSON. */
function toRaw(config: Record<string, Json>, stack: string): Record<string, string> {
  const raw = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [`ems-infra:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return stack === "prod" ? { ...raw, ...TEST_SECRETS } : raw;
}

function mutate(
  config: Record<string, Json>,
  keyPath: string[],
  replacement: { value: Json } | "remove",
): Record<string, Json> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, Json>;
  let node = copy as Record<string, Json>;
  for (const k of keyPath.slice(0, -1)) node = node[k] as Record<string, Json>;
  const last = keyPath[keyPath.length - 1];
  if (replacement === "remove") delete node[last];
  else node[last] = replacement.value;
  return copy;
}

const VARIANTS: Variant[] = (["dev", "prod"] as const).flatMap((stack) => {
  const base = committed(stack);
  return Object.entries(base).flatMap(([key, value]) =>
    paths(value).flatMap((sub): Variant[] => {
      const keyPath = [key, ...sub];
      let current: Json = base;
      for (const k of keyPath) current = (current as Record<string, Json>)[k];
      const name = keyPath.join(".");
      return [
        { stack, key: name, change: "removed", config: toRaw(mutate(base, keyPath, "remove"), stack) },
        ...wrongTypes(current).map(([label, v]): Variant => ({
          stack,
          key: name,
          change: `replaced by ${label}`,
          config: toRaw(mutate(base, keyPath, { value: v }), stack),
        })),
      ];
    }),
  );
});

type Outcome = { ok: true; config: StackConfig } | { ok: false; problems: string[] };

function outcome(v: Variant): Outcome {
  try {
    return { ok: true, config: parseStackConfig(v.stack, v.config, new Set(Object.keys(TEST_SECRETS))) };
  } catch (err) {
    // Anything but a ConfigError would reach the user as a stack trace.
    if (!(err instanceof ConfigError))
      throw new Error(`${v.stack} ${v.key} ${v.change}: ${String((err as Error).stack ?? err)}`);
    return { ok: false, problems: err.problems };
  }
}

const outcomes = VARIANTS.map((v) => ({ variant: v, result: outcome(v) }));

test("the generator covers every committed key and nested field of both stack files", () => {
  const keys = new Set(VARIANTS.map((v) => `${v.stack}:${v.key}`));
  for (const k of [
    "dev:tls.certsDir",
    "dev:services.ems.version",
    "prod:tls.email",
    "prod:paths.secrets",
    "prod:backup.keepWeekly",
    "prod:domain",
  ])
    expect(keys).toContain(k);
  expect(VARIANTS.length).toBeGreaterThan(120);
});

describe.each(["dev", "prod"] as const)("%s: a committed key removed or of the wrong type", (stack) => {
  const refused = outcomes.filter((o) => o.variant.stack === stack && !o.result.ok);

  test.each(refused.map((o) => [`${o.variant.key} ${o.variant.change}`, o] as const))(
    "%s: refused with a problem naming the key",
    (_label, o) => {
      const problems = (o.result as { problems: string[] }).problems;
      const full = `ems-infra:${o.variant.key}`;
      // A removed key may be reported on the key that needs it, naming it (version latest needs imageSource: local).
      const field = o.variant.key.split(".").pop()!;
      const named = problems.filter(
        (p) => p.startsWith(`${full}: `) || (o.variant.change === "removed" && p.includes(`${field}: `)),
      );
      expect({ problems, named: named.length > 0 }).toEqual({ problems, named: true });
      // A key that is set, but to the wrong type, is not reported as missing.
      if (o.variant.change !== "removed") for (const p of named) expect(p).not.toContain("is required but not set");
      for (const p of problems) expect(p).not.toMatch(/undefined|\[object Object\]|^\s*at /);
    },
  );

  test("every accepted variant runs the stack with no `undefined` in any resource input", async () => {
    const accepted = outcomes.filter((o) => o.variant.stack === stack && o.result.ok);
    // Only defaults (system, traefik, postgres, backup, a single service...) can be accepted.
    expect(accepted.length).toBeGreaterThan(3);
    const seen = new Map<string, string>();
    const bad: string[] = [];
    for (const o of accepted) {
      const label = `${o.variant.key} ${o.variant.change}`;
      const fingerprint = JSON.stringify((o.result as { config: StackConfig }).config);
      if (seen.has(fingerprint)) continue; // same resolved config as an earlier variant: same resources
      seen.set(fingerprint, label);
      const run = await runStack(stack, o.variant.config);
      expect(run.resources.length).toBeGreaterThan(20);
      for (const r of run.resources) {
        if (allStrings(r.inputs).some((s) => s.includes("undefined"))) bad.push(`${label}: ${r.type} ${r.name}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

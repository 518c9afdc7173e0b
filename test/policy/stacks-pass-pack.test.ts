// The whole policy pack against every resource the real dev and prod stacks register under mocks.
import { evaluatePack, PolicyResource as RecordedResource } from "../support";
import { committedConfig, runStack, StackRun, T, TEST_SECRETS } from "../support";

function asPolicyInput(run: StackRun): RecordedResource[] {
  return run.resources
    .filter((r) => r.custom)
    .map((r) => ({
      type: r.type,
      name: r.name,
      props: r.inputs,
      opts: {
        protect: r.opts.protect as boolean | undefined,
        retainOnDelete: r.opts.retainOnDelete,
        additionalSecretOutputs: r.opts.additionalSecretOutputs,
      },
    }));
}

describe.each(["dev", "prod"])("the %s stack", (stack) => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = asPolicyInput(await runStack(stack, { ...committedConfig(stack), ...TEST_SECRETS }));
  });

  test("passes every policy of the pack, credentials seen as secrets", () => {
    expect(evaluatePack(resources, stack)).toEqual([]);
  });

  test("passes every policy of the pack as a real preview sees it (secrets unwrapped)", () => {
    expect(evaluatePack(resources, stack, { secretsVisible: false })).toEqual([]);
  });

  test("fails the pack when a container loses its healthcheck", () => {
    const broken = resources.map((r) =>
      r.type === T.container && r.name === "ems" ? { ...r, props: { ...r.props, healthcheck: undefined } } : r,
    );
    expect(evaluatePack(broken, stack, { secretsVisible: false })).toEqual([
      "[container-hardening] ems: The container must define a healthcheck with tests.",
    ]);
  });
});

test("in prod, an unprotected data volume (Postgres, Portainer) fails the pack", async () => {
  const prod = asPolicyInput(await runStack("prod", { ...committedConfig("prod"), ...TEST_SECRETS }));
  const unprotected = prod.map((r) => (r.type === T.volume ? { ...r, opts: { ...r.opts, protect: false } } : r));
  expect(evaluatePack(unprotected, "prod")).toEqual([
    expect.stringMatching(/^\[prod-data-protected\] portainer-data: /),
    expect.stringMatching(/^\[prod-data-protected\] postgres-data: /),
  ]);
});

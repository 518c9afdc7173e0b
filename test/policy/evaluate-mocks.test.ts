// evaluatePack over resources recorded under pulumi.runtime.setMocks, the way the stack tests use it:
// inputs come from `newResource`, options from a stack transformation (mocks do not pass options).
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { evaluatePack, PolicyResource as RecordedResource } from "../support";
import { hardening } from "./fixtures";

const recorded: RecordedResource[] = [];
const optsByKey = new Map<string, RecordedResource["opts"]>();

/** Records each resource's options; needs the root stack resource (runInPulumiStack). */
function recordOptions(): void {
  pulumi.runtime.registerStackTransformation((args) => {
    const o = args.opts as pulumi.CustomResourceOptions;
    optsByKey.set(`${args.type}::${args.name}`, {
      protect: o.protect,
      retainOnDelete: o.retainOnDelete,
      additionalSecretOutputs: o.additionalSecretOutputs,
    });
    return undefined;
  });
}

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        recorded.push({
          type: args.type,
          name: args.name,
          props: args.inputs,
          opts: optsByKey.get(`${args.type}::${args.name}`),
        });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "ems-infra",
    "prod",
    false,
  );
});

function registered(...resources: pulumi.CustomResource[]): Promise<unknown> {
  return Promise.all(resources.map((r) => new Promise((resolve) => r.id.apply(resolve))));
}

it("sees secret inputs and recorded options", async () => {
  await pulumi.runtime.runInPulumiStack(async () => {
    recordOptions();
    const password = pulumi.secret("s3cr3t");
    const pgdata = new docker.Volume("ems-pgdata", { name: "ems_pgdata" }, { protect: true, retainOnDelete: true });
    const pg = new docker.Container(
      "postgres",
      {
        image: "postgres:16.6",
        ...(hardening(1024) as Partial<docker.ContainerArgs>),
        envs: ["POSTGRES_USER=ems", pulumi.interpolate`POSTGRES_PASSWORD=${password}`],
        volumes: [{ volumeName: pgdata.name, containerPath: "/var/lib/postgresql/data" }],
      },
      { additionalSecretOutputs: ["envs"] },
    );
    const leaky = new docker.Container(
      "leaky",
      {
        image: "ghcr.io/edumigsoft/sms:1.4.2",
        ...(hardening() as Partial<docker.ContainerArgs>),
        envs: ["SMS_API_KEY=hard-coded"],
      },
      { additionalSecretOutputs: ["envs"] },
    );
    const oldData = new docker.Volume("old-data", { name: "old" });
    await registered(pgdata, pg, leaky, oldData);
  });

  // The root stack resource (pulumi:pulumi:Stack) is recorded too; no policy applies to it.
  expect(recorded.map((r) => r.name).sort()).toEqual(["ems-infra-prod", "ems-pgdata", "leaky", "old-data", "postgres"]);
  expect(evaluatePack(recorded, pulumi.getStack())).toEqual([
    "[no-plaintext-credentials] leaky: Environment variable SMS_API_KEY has a plaintext value; build it from a Pulumi secret.",
    "[prod-data-protected] old-data: Production data resources must set protect: true.",
    "[prod-data-protected] old-data: Production data resources must set retainOnDelete: true.",
  ]);
  expect(evaluatePack(recorded, "dev")).toEqual([
    "[no-plaintext-credentials] leaky: Environment variable SMS_API_KEY has a plaintext value; build it from a Pulumi secret.",
  ]);
});

/**
 * The contract between the program and the ops commands: the container labels, and the stack outputs ops read,
 * with the zod schema ops parse them with (once per command). The program's exports satisfy {@link OpsExports} at
 * compile time (stacks/system.ts); a stack deployed by an older version fails the parse with a message naming what
 * it lacks and how to bring it up to date.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { HostExpectations } from "./hostExpectations";

/** The service a container runs (`traefik`, `postgres`, `portainer`, an API's name). */
export const SERVICE_LABEL = "com.ems.service";
/** `development` or `production`: several systems of a host may share it. */
export const ENVIRONMENT_LABEL = "com.ems.environment";
/** The system (`ems-infra:system`): what tells two systems of one host apart. */
export const SYSTEM_LABEL = "com.ems.system";
/** The version label, when a container has one (the image may be referenced by digest only). */
export const VERSION_LABEL = "com.ems.version";

/** The labels that say what a container is and whose it is. */
export function identityLabels(system: string, environment: string, service: string): Record<string, string> {
  return { [SERVICE_LABEL]: service, [ENVIRONMENT_LABEL]: environment, [SYSTEM_LABEL]: system };
}

const nonEmpty = z.string().min(1);
const stringMap = z.record(z.string(), z.string());

const cronSchema = z.object({ job: z.string(), line: z.string() });
const hostExpectationsSchema: z.ZodType<HostExpectations> = z.object({
  folders: z.array(z.object({ path: z.string(), mode: z.string().optional() })),
  cron: cronSchema.optional(),
  drillCron: cronSchema.optional(),
  postgres: z
    .object({
      container: z.string(),
      runsAs: z.enum(["container", "swarm-service"]).optional(),
      superuser: z.string(),
      roles: z.array(z.string()),
      databases: z.array(z.object({ name: z.string(), owner: z.string() })),
    })
    .optional(),
});

/** The stack outputs the ops commands read. */
const opsOutputsSchema = z.object({
  /** `ems-infra:system`: the `com.ems.system` label of every container of the stack. */
  system: nonEmpty,
  /** `ems-infra:environment`: the `com.ems.environment` label. */
  environment: nonEmpty,
  /** Container names by service (`traefik`, `postgres`, `portainer` and each API): status, logs, exec. */
  containers: stringMap,
  /** Public URL by service: status. */
  urls: stringMap,
  /** Image reference by API service: image retention after a deploy. */
  images: stringMap,
  /** Folder of the dumps: backup, restore, status. */
  backupDir: nonEmpty,
  /** The host command `npm run backup` runs (the same as the schedule's). */
  backupCommand: nonEmpty,
  /** The host command `npm run restore` runs, followed by the dump file. */
  restoreCommand: nonEmpty,
  /** The backup job's log file: status prints its last line. */
  backupLog: nonEmpty,
  /** What the host must hold that a refresh never re-reads: drift. */
  hostExpectations: hostExpectationsSchema,
  /** `swarm` when `containers` names Swarm services on a cluster (ops/swarm.ts); absent: containers on one engine. */
  platform: z.enum(["docker", "swarm"]).optional(),
  /** The off-site copy (backup --drill, restore --from offsite, status); absent on a stack deployed before it existed. */
  offsite: z
    .object({
      /** Whether the secret `backupOffsite` is set. */
      enabled: z.boolean(),
      /** offsite.sh with its environment, followed by `restore …`, `drill` or `status` ("" when off). */
      command: z.string(),
      /** Where the host records the last backup and drill. */
      stateDir: z.string(),
      /** `npm run status` exits 1 past these ages. */
      maxAgeHours: z.number(),
      drillMaxAgeDays: z.number(),
      /**
       * On a swarm, each node's own job (`platform: swarm`): its address in `ems-infra:swarm.nodes`, its restic host
       * name, its offsite.sh command, and whether it takes the database dumps (the Postgres node). Absent: one host.
       */
      nodes: z
        .array(z.object({ address: nonEmpty, host: nonEmpty, command: nonEmpty, database: z.boolean() }))
        .optional(),
    })
    .optional(),
  /** On a swarm: what `npm run drift` checks per node, and each service's replica count in the program. */
  swarm: z
    .object({
      nodes: z.array(z.object({ address: nonEmpty, expectations: hostExpectationsSchema })),
      replicas: z.record(z.string(), z.number()),
    })
    .optional(),
});

export type OpsOutputs = z.infer<typeof opsOutputsSchema>;

/** A value the program exports for a field of the contract: the value, an Output of it, or a map of Outputs. */
type Exported<T> =
  T extends Record<string, string> ? Record<string, pulumi.Input<string>> | pulumi.Input<T> : pulumi.Input<T>;

/** What the program must export (stacks/system.ts returns an object that satisfies it). */
export type OpsExports = { [K in keyof OpsOutputs]: Exported<OpsOutputs[K]> };

/**
 * The contract's outputs of a stack (`stack.outputs()` values), or an error that says what is wrong: never
 * deployed, or deployed by an older version that lacked some of them.
 */
export function parseOpsOutputs(stackName: string, outputs: Record<string, unknown>): OpsOutputs {
  if (Object.keys(outputs).length === 0) {
    throw new Error(
      `stack ${stackName} has no outputs: it was never deployed (npm run deploy -- --stack ${stackName})`,
    );
  }
  const parsed = opsOutputsSchema.safeParse(outputs);
  if (parsed.success) return parsed.data;
  const keys = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? "?")))].sort();
  const missing = keys.filter((k) => outputs[k] === undefined);
  const bad = keys.filter((k) => outputs[k] !== undefined);
  const parts = [
    ...(missing.length ? [`lack ${missing.join(", ")}`] : []),
    ...(bad.length ? [`have ${bad.join(", ")} in an older shape`] : []),
  ];
  return fail(stackName, parts.join(" and "));
}

function fail(stackName: string, what: string): never {
  throw new Error(
    `stack ${stackName} was deployed by an older version of ems-infra: its outputs ${what}; ` +
      `deploy it once with this version (npm run deploy -- --stack ${stackName}), then re-run this command`,
  );
}

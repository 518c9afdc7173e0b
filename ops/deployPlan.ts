/** Deploy's config edit: one service's image version, refused for a service the stack does not have. */
import { assertStoredAsString } from "./changes";
import type { ConfigEdit } from "./release";
import { SERVICES_KEY } from "./rollbackPlan";
import type { StackLike } from "./runner/context";
import { isRecord } from "../stacks/configErrors";

/** The config edit that sets a service's version, or undefined when it is already set; refuses unknown services. */
export async function versionEdit(stack: StackLike, service: string, version: string): Promise<ConfigEdit | undefined> {
  const key = `${SERVICES_KEY}.${service}.version`;
  assertStoredAsString(key, version);
  const services = await readServices(stack);
  if (!services)
    throw new Error(
      `stack ${stack.name} has no ${SERVICES_KEY} config: describe the services in Pulumi.${stack.name}.yaml first`,
    );
  if (!Object.prototype.hasOwnProperty.call(services, service)) {
    const known = Object.keys(services).sort().join(", ") || "none";
    throw new Error(`service "${service}" is not in ${SERVICES_KEY} of stack ${stack.name} (known services: ${known})`);
  }
  const entry = services[service];
  const previous = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>).version : undefined;
  if ((typeof previous === "string" || typeof previous === "number") && String(previous) === version) return undefined;
  return { key, value: version, path: true };
}

/** The stack's `ems-infra:services` object, or undefined when it is not set. */
async function readServices(stack: StackLike): Promise<Record<string, unknown> | undefined> {
  let raw: string;
  try {
    raw = (await stack.getConfig(SERVICES_KEY)).value;
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    throw new Error(`${SERVICES_KEY} of the stack is not an object (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
}

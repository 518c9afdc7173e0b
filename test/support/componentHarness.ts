/**
 * Runs a few components alone under Pulumi's mock monitor (no stack config, no index.ts) and returns what
 * they registered, the same shape as stackHarness's `runStack`. Calls must not overlap; one after the other
 * in the same test file is fine (each gets a fresh mock monitor and root stack).
 */
import * as pulumi from "@pulumi/pulumi";
import { RecordedResource, emulateAdditionalSecretOutputs, finder, recordUnderMocks } from "./mockRuntime";

export { emulateAdditionalSecretOutputs, mockState } from "./mockRuntime";

export interface ComponentRun<T> {
  /** What `build` returned (the components, to read their outputs). */
  result: T;
  resources: RecordedResource[];
  get(type: string, name: string): RecordedResource;
  ofType(type: string): RecordedResource[];
}

/** Builds the components under mocks, with secret outputs marked as the engine would mark them. */
export async function runComponents<T>(build: () => T, stack = "test"): Promise<ComponentRun<T>> {
  const undo = emulateAdditionalSecretOutputs();
  try {
    const { result, resources } = await recordUnderMocks({ stack, build });
    return { result, resources, ...finder(resources) };
  } finally {
    undo();
  }
}

/** The URN of a resource object (e.g. an `opts.parent`), resolved. */
export function urnOf(resource: pulumi.Resource): Promise<string> {
  return new Promise((resolve) => resource.urn.apply(resolve));
}

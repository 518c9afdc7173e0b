/** The mock runtime the tests record through: testkit/mockProgram.ts (shared with bench/), so there is one implementation. */
export {
  committedConfig,
  emulateAdditionalSecretOutputs,
  finder,
  isSecretEnvelope,
  mockInvoke,
  mockRandomPassword,
  mockState,
  recordUnderMocks,
  runProgram,
  unsecret,
  waitForRPCs,
} from "../../testkit/mockProgram";
export type { RecordedResource } from "../../testkit/mockProgram";

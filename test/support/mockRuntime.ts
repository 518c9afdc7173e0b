/** The mock runtime the tests record through: the production one (ops/mockProgram.ts), so there is one implementation. */
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
  SECRET_SIG,
  SECRET_SIG_KEY,
  unsecret,
  waitForRPCs,
} from "../../ops/mockProgram";
export type { MockRunOptions, ProgramRun, RecordedResource } from "../../ops/mockProgram";

/** The committed stacks as a deploy runs them: their config plus every secret they may need. */
import { committedConfig, runStack, StackRun, TEST_SECRETS } from "../support";

/** Secrets a deploy of either stack has (`pulumi config set --secret`). */
const DEPLOY_SECRETS: Record<string, string> = {
  ...TEST_SECRETS,
  "ems-infra:dashboardPassword": "test-Dashboard-Password-0001",
};

/** One committed stack under the mocks, optionally with config overrides (full keys → raw values). */
export function runCommitted(stack: string, overrides: Record<string, string> = {}): Promise<StackRun> {
  return runStack(stack, { ...committedConfig(stack), ...DEPLOY_SECRETS, ...overrides }, Object.keys(DEPLOY_SECRETS));
}

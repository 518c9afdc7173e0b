/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  testEnvironmentOptions: { globalsCleanup: "off" },
  roots: ["<rootDir>/test", "<rootDir>/policy"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 60000,
  // Pulumi's runtime keeps global state per process: one worker per file keeps mocks isolated.
  maxWorkers: 2,
};

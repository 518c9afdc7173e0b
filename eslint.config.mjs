// ESLint flat config: typescript-eslint's recommended rules, type-aware, plus Pulumi's rules (an Output pasted
// into a template literal prints "Calling [toString] on an Output<T>" instead of its value).
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

// What each layer may not import (README, "Development").
const PRODUCTION = {
  regex: "(^|/)(test|bench|testkit)(/|$)",
  message: "Production code never imports test, bench or testkit code.",
};
const NO_OPS = {
  regex: "(^|/)ops(/|$)",
  message: "The program knows nothing of ops: ops read it through stacks/opsContract.ts.",
};
const HOST_COMMANDS_PURE = {
  regex: "^\\.\\./[^.]",
  message: "Host command lines are pure string builders: no runner, flow or command (components/shell, stacks only).",
};
const HOST_COMMANDS_RUN_NOTHING = {
  regex: "^(child_process|@pulumi/.*)$",
  message: "Host command lines build strings; they never run anything.",
};
const RUNNER = { regex: "^\\.\\./[^.]", message: "The runner knows no command, flow or host command line." };
const FLOWS = { regex: "^(\\./|\\.\\./)commands/", message: "Flows never import a command: commands call flows." };
const COMMANDS = [
  { regex: "^child_process$", message: "Commands run host commands through the context's host shell." },
  {
    regex: "^@pulumi/pulumi/automation$",
    allowTypeImports: true,
    message: "The runner opens the stack (ctx.stack); commands do not reach for the Automation API.",
  },
];
const NO_TEST = {
  regex: "(^|/)test/",
  message: "bench/, testkit/ and test/ do not import test/: what they share lives in testkit/.",
};
const NO_BENCH = {
  regex: "(^|/)bench/",
  message: "Nothing imports bench/ (its scripts only print figures): what it shares lives in testkit/.",
};
const TESTKIT_THROUGH_SUPPORT = {
  regex: "(^|/)testkit/",
  message: "Tests reach testkit/ through test/support (its index), the one entry.",
};
const ONE_SUPPORT_ENTRY = {
  regex: "(^|/)support/.",
  message: "Tests take their helpers from test/support (its index), the one entry.",
};

export default tseslint.config(
  { ignores: ["node_modules/**", "policy/node_modules/**", "bin/**", "test/schemas/**", "**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },

  // The layers (README, "Development"): what each folder may not import, and why. One block per folder (a later
  // block would replace, not add to, an earlier one's patterns for the same file).
  ...layer(["index.ts", "components/**/*.ts", "stacks/**/*.ts", "policy/**/*.ts"], [PRODUCTION, NO_OPS]),
  ...layer(["ops/hostCommands/**/*.ts"], [PRODUCTION, HOST_COMMANDS_PURE, HOST_COMMANDS_RUN_NOTHING]),
  ...layer(["ops/runner/**/*.ts"], [PRODUCTION, RUNNER]),
  ...layer(["ops/*.ts", "ops/migrate/**/*.ts"], [PRODUCTION, FLOWS]),
  ...layer(["ops/commands/**/*.ts"], [PRODUCTION, ...COMMANDS]),
  ...layer(["test/**/*.ts"], [ONE_SUPPORT_ENTRY, NO_BENCH, TESTKIT_THROUGH_SUPPORT], ["test/support/**/*.ts"]),
  ...layer(["test/support/**/*.ts"], [NO_BENCH]),
  ...layer(["bench/**/*.ts"], [NO_TEST]),
  ...layer(["testkit/**/*.ts"], [NO_TEST, NO_BENCH]),
);

/** A `no-restricted-imports` block for some files (type-aware, so type-only imports can be allowed per pattern). */
function layer(files, patterns, ignores = []) {
  return [{ files, ignores, rules: { "@typescript-eslint/no-restricted-imports": ["error", { patterns }] } }];
}

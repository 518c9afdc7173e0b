import { describeError } from "../../ops/runner/io";

test("a missing Pulumi CLI says how to install it", () => {
  expect(describeError(new Error("spawn pulumi ENOENT"))).toBe(
    "the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/), then re-run this command",
  );
});

test("a missing passphrase says which variable to set", () => {
  const cli =
    'error: constructing secrets manager of type "passphrase": passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables';
  expect(describeError(new Error(cli))).toBe(
    `${cli}\n(export PULUMI_CONFIG_PASSPHRASE with the stack's passphrase: it encrypts the stack's secrets)`,
  );
});

test("any other failure is passed through, trimmed", () => {
  expect(describeError(new Error("  boom \n"))).toBe("boom");
});

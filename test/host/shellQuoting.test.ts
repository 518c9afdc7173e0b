/** The one shell-quoting helper and the crontab-line helper, run through a real /bin/sh. */
import { spawnSync } from "child_process";
import { crontabCommand, crontabLine, shellQuote, shellWords } from "../../components/shell";

const WORDS = [
  "plain",
  "with space",
  "it's",
  "$(touch /tmp/x)",
  "`id`",
  'a"b',
  "50%d",
  "-uninstall",
  "a\\b",
  "#not a comment",
  "*",
  "",
  "tab\there",
  "new\nline",
];

test.each(WORDS.map((w) => [JSON.stringify(w), w] as const))(
  "%s reaches the program as one argument, unchanged",
  (_l, word) => {
    const r = spawnSync("/bin/sh", ["-c", `printf '%s\\0' ${shellWords([word, "--", word])}`], { encoding: "utf8" });
    expect(r.stdout.split("\0").slice(0, -1)).toEqual([word, "--", word]);
  },
);

test("a NUL cannot be passed in an argument: refused, not cut", () => {
  expect(() => shellQuote("a\0b")).toThrow("cannot hold a NUL");
});

test("crontab commands escape % (cron would cut the command there) and refuse newlines", () => {
  expect(crontabCommand(`ls ${shellQuote("/data/50%d")}`)).toBe("ls /data/50\\%d");
  expect(() => crontabCommand("ls\n* * * * * rm -rf /")).toThrow("cannot hold a newline");
  expect(crontabLine("0  3 * * *", "true %")).toBe("0 3 * * * true \\%");
  expect(() => crontabLine("0 3 * *", "true")).toThrow("is not 5 fields");
  expect(() => crontabLine("0 3 * * *\n* * * * *", "true")).toThrow("is not 5 fields");
});

/** shellcheck on the scripts the program feeds to a host shell (skipped, saying so, when shellcheck is absent). */
import { spawnSync } from "child_process";
import * as path from "path";
import { PROD_BACKUP } from "../support";
import { backupInstallScript } from "../../components/backup";

const HAS_SHELLCHECK = spawnSync("sh", ["-c", "command -v shellcheck"]).status === 0;
const maybe = HAS_SHELLCHECK ? test : test.skip;
if (!HAS_SHELLCHECK)
  console.warn("shellcheck is not installed: the shellcheck tests are skipped (apt install shellcheck)");

const SCRIPTS = path.join(__dirname, "..", "..", "components", "scripts");

maybe.each(["host-layout.sh", "mkcert.sh"])("%s passes shellcheck as a POSIX sh script", (file) => {
  const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", path.join(SCRIPTS, file)], {
    encoding: "utf8",
  });
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
});

maybe("the backup installer the Backup component generates passes shellcheck", () => {
  const script = backupInstallScript(PROD_BACKUP, "ems_system-postgres");
  const result = spawnSync("shellcheck", ["--shell=sh", "--severity=style", "-"], { input: script, encoding: "utf8" });
  expect(result.stdout + result.stderr).toBe("");
  expect(result.status).toBe(0);
});

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backendUrl, ensureLocalBackend, localBackendDir } from "../../ops/runner/backend";

const PULUMI_YAML = fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8");

test("the committed Pulumi.yaml makes a local folder the default backend: no Pulumi Cloud account needed", () => {
  expect(backendUrl({}, PULUMI_YAML)).toBe("file://~/.pulumi-ems-infra");
  expect(localBackendDir(backendUrl({}, PULUMI_YAML), "/home/dev", "/repo")).toBe("/home/dev/.pulumi-ems-infra");
});

test("PULUMI_BACKEND_URL wins over Pulumi.yaml, and a remote backend has no local folder", () => {
  expect(backendUrl({ PULUMI_BACKEND_URL: "s3://ems-pulumi-state?region=sa-east-1" }, PULUMI_YAML)).toBe(
    "s3://ems-pulumi-state?region=sa-east-1",
  );
  expect(localBackendDir("s3://ems-pulumi-state", "/home/dev", "/repo")).toBeUndefined();
  expect(localBackendDir("file://./state?no_tmp_dir=true", "/home/dev", "/repo")).toBe("/repo/state");
  expect(localBackendDir("file:///var/lib/pulumi", "/home/dev", "/repo")).toBe("/var/lib/pulumi");
});

test("the folder of a file:// backend is created before the first stack operation", () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), "ems-backend-"));
  fs.writeFileSync(path.join(repo, "Pulumi.yaml"), PULUMI_YAML);
  const dir = ensureLocalBackend(repo, { PULUMI_BACKEND_URL: "file://./state" });
  expect(dir).toBe(path.join(repo, "state"));
  expect(fs.statSync(dir!).isDirectory()).toBe(true);
  expect(ensureLocalBackend(repo, { PULUMI_BACKEND_URL: "file://./state" })).toBe(dir);
  fs.rmSync(repo, { recursive: true });
});

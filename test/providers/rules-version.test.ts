/**
 * The vendored replace tables describe the providers package.json pins: each table's declared package version is
 * the one package.json depends on (and the one installed), and every input the installed SDK declares for a
 * resource type is classified there, nested upload fields included. A provider bump without re-vendoring fails here.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { loadProviderRules, ProviderRulesFile, RULES_DIR } from "../support";

const ROOT = path.join(__dirname, "..", "..");
const packageJson = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};
const tables = fs
  .readdirSync(RULES_DIR)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({ file: f, table: JSON.parse(fs.readFileSync(path.join(RULES_DIR, f), "utf8")) as ProviderRulesFile }));

/** `@pulumi/docker 5.2.0` → [name, version]. */
function declared(table: ProviderRulesFile): [string, string] {
  const m = /^(@[\w-]+\/[\w-]+) (\d+\.\d+\.\d+)$/.exec(table.package);
  if (!m) throw new Error(`"package" must read "<npm name> <version>", got ${JSON.stringify(table.package)}`);
  return [m[1], m[2]];
}

/** The property names of an exported interface in an installed SDK's declaration file. */
function interfaceProps(sdk: string, file: string, name: string): string[] {
  const full = path.join(ROOT, "node_modules", sdk, file);
  const source = ts.createSourceFile(full, fs.readFileSync(full, "utf8"), ts.ScriptTarget.Latest, true);
  let props: string[] | undefined;
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === name)
      props = node.members.flatMap((m) => (m.name ? [m.name.getText(source)] : []));
  });
  if (!props) throw new Error(`${sdk}/${file} declares no interface ${name}`);
  return props;
}

describe("each vendored table is for the version package.json pins", () => {
  test.each(tables)("$file", ({ table }) => {
    const [name, version] = declared(table);
    const installed = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    };
    expect({ name, table: version, packageJson: packageJson.dependencies[name], installed: installed.version }).toEqual(
      { name, table: version, packageJson: version, installed: version },
    );
  });
});

describe("every input of the pinned SDKs is classified", () => {
  const rules = loadProviderRules();
  const classified = (type: string) => {
    const r = rules.get(type)!;
    return new Set([...r.replace, ...r.live, ...r.state]);
  };

  test.each([
    ["@pulumi/docker", "container.d.ts", "ContainerArgs", "docker:index/container:Container"],
    ["@pulumi/docker", "remoteImage.d.ts", "RemoteImageArgs", "docker:index/remoteImage:RemoteImage"],
    ["@pulumi/docker", "volume.d.ts", "VolumeArgs", "docker:index/volume:Volume"],
    ["@pulumi/docker", "network.d.ts", "NetworkArgs", "docker:index/network:Network"],
    ["@pulumi/docker", "provider.d.ts", "ProviderArgs", "pulumi:providers:docker"],
    ["@pulumi/command", "local/command.d.ts", "CommandArgs", "command:local:Command"],
    ["@pulumi/command", "remote/command.d.ts", "CommandArgs", "command:remote:Command"],
    ["@pulumi/random", "randomPassword.d.ts", "RandomPasswordArgs", "random:index/randomPassword:RandomPassword"],
    ["@pulumi/random", "randomString.d.ts", "RandomStringArgs", "random:index/randomString:RandomString"],
  ])("%s %s", (sdk, file, iface, type) => {
    const missing = interfaceProps(sdk, file, iface).filter((input) => !classified(type).has(input));
    expect({ type, missing }).toEqual({ type, missing: [] });
  });

  test("5.2.0's new container inputs are there: deviceCgroupRules, and every upload field with owner and group", () => {
    const container = rules.get("docker:index/container:Container")!;
    expect(container.replace).toContain("deviceCgroupRules");
    const uploadFields = interfaceProps("@pulumi/docker", "types/input.d.ts", "ContainerUpload");
    expect(uploadFields).toEqual(expect.arrayContaining(["owner", "group"]));
    expect([...(container.nested?.uploads ?? [])].sort()).toEqual([...uploadFields].sort());
    expect(container.replace).toContain("uploads");
  });
});

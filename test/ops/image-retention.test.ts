import { removeImagesCommand } from "../../ops/hostCommands/images";
import { imagesToRemove, repositoryOf } from "../../ops/imageRetention";
import { keepImagesOf, pruneImages, recentVersions } from "../../ops/pruneImages";
import * as fs from "fs";
import * as path from "path";
import { FakeHost, fakeIo, FakeStack, PROD_CONFIG, prodOutputs } from "../support";

const HISTORY = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "history-prod.json"), "utf8"));
const id = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const EMS_IMAGES = [
  `1.5.0\t${id(6)}\t2025-03-14 17:50:00 +0000 UTC`,
  `1.4.2\t${id(5)}\t2025-03-01 10:00:00 +0000 UTC`,
  `1.4.1\t${id(4)}\t2025-02-20 10:00:00 +0000 UTC`,
  `1.4.0\t${id(3)}\t2025-02-10 10:00:00 +0000 UTC`,
  `1.3.9\t${id(2)}\t2025-02-01 10:00:00 +0000 UTC`,
  `1.10.0\t${id(7)}\t2025-01-01 10:00:00 +0000 UTC`,
  `<none>\t${id(1)}\t2025-01-01 10:00:00 +0000 UTC`,
].join("\n");

describe("image retention: what to remove", () => {
  it("keeps the newest N versions by semver and removes the rest", () => {
    expect(imagesToRemove({ images: EMS_IMAGES, usedImageIds: "", protectedTags: [], keep: 3 })).toEqual([
      "1.4.1",
      "1.4.0",
      "1.3.9",
    ]);
  });

  it("never removes the running or previous version, nor an image a container uses", () => {
    expect(
      imagesToRemove({ images: EMS_IMAGES, usedImageIds: `${id(3)}\n`, protectedTags: ["1.3.9"], keep: 1 }),
    ).toEqual(["1.5.0", "1.4.2", "1.4.1"]);
  });

  it("orders by creation time when tags are not all semver", () => {
    const images = [
      `main-abc\t${id(2)}\t2025-03-02 10:00:00 +0000 UTC`,
      `main-def\t${id(3)}\t2025-03-03 10:00:00 +0000 UTC`,
      `1.0.0\t${id(1)}\t2025-03-01 10:00:00 +0000 UTC`,
    ].join("\n");
    expect(imagesToRemove({ images, usedImageIds: "", protectedTags: [], keep: 2 })).toEqual(["1.0.0"]);
  });

  it("removes by repository:tag, quoted", () => {
    expect(removeImagesCommand("ghcr.io/edumigsoft/ems-server", ["1.4.0", "1.3.9"])).toBe(
      "docker rmi ghcr.io/edumigsoft/ems-server:1.4.0 ghcr.io/edumigsoft/ems-server:1.3.9",
    );
    expect(repositoryOf("ghcr.io/edumigsoft/ems-server@sha256:abc")).toBe("ghcr.io/edumigsoft/ems-server");
    expect(repositoryOf("localhost:5000/ems:1.0")).toBe("localhost:5000/ems");
  });
});

describe("image retention after a deploy", () => {
  it("reads ems-infra:release.keepImages with the program's schema (default 3, at least 2), naming the key", async () => {
    expect(await keepImagesOf(new FakeStack("prod", { config: PROD_CONFIG }))).toBe(3);
    expect(
      await keepImagesOf(new FakeStack("prod", { config: { "ems-infra:release": JSON.stringify({ keepImages: 5 }) } })),
    ).toBe(5);
    // 1 would remove the previous version a rollback needs: the program's schema refuses it, so ops does too.
    await expect(
      keepImagesOf(new FakeStack("prod", { config: { "ems-infra:release": JSON.stringify({ keepImages: 1 }) } })),
    ).rejects.toThrow("ems-infra:release.keepImages: must be at least 2 (the running and the previous version)");
    await expect(
      keepImagesOf(new FakeStack("prod", { config: { "ems-infra:release": JSON.stringify({ keepImages: "3" }) } })),
    ).rejects.toThrow("ems-infra:release.keepImages: ");
  });

  it("protects the versions of the last two successful updates", () => {
    expect(recentVersions(HISTORY, "ems")).toEqual(["1.5.0", "1.4.2"]);
  });

  it("runs the removal on the stack's host", async () => {
    const host = new FakeHost((command) => (command.startsWith("docker images") ? { stdout: EMS_IMAGES } : {}));
    const stack = new FakeStack("prod", {
      config: { ...PROD_CONFIG, "ems-infra:release": JSON.stringify({ keepImages: 2 }) },
      outputs: prodOutputs({ images: { ems: "ghcr.io/edumigsoft/ems-server@sha256:5555" } }),
    });
    const io = fakeIo();
    await pruneImages(stack, HISTORY, io, { host });
    expect(host.commands.filter((c) => c.mode === "run").map((c) => c.command)).toEqual([
      "docker rmi ghcr.io/edumigsoft/ems-server:1.4.1 ghcr.io/edumigsoft/ems-server:1.4.0 ghcr.io/edumigsoft/ems-server:1.3.9",
    ]);
    expect(io.stdout).toBe("removed old images of ems (keeping the last 2): 1.4.1, 1.4.0, 1.3.9\n");
  });
});

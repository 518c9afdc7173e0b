/**
 * One table of image references, two judges: the config schema (`ems-infra:traefik.image` /
 * `ems-infra:postgres.image`) and the mandatory image-pinned policy on the container the stack registers.
 * They must agree: an image the config accepts never fails the pack at preview, and the other way round.
 */
import { ConfigError, parseStackConfig } from "../../stacks/config";
import { imageNotPinnedMessage, imagePinned } from "../../policy/policies/imagePinned";
import { postgresMajor, traefikVersion } from "../../components/imageRef";
import { committedConfig, TEST_SECRETS } from "../support";
import { withValue } from "../stacks/helpers";
import { evaluatePack } from "../support";
import { container } from "./fixtures";

const D = "a".repeat(64);
const IMAGES: [string, boolean][] = [
  ["traefik:v3.6.1", true],
  ["traefik:3.6.1", true],
  ["traefik:v3.6", true],
  [`traefik@sha256:${D}`, true],
  [`traefik:v3.6.1@sha256:${D}`, true],
  ["docker.io/library/traefik:v3.6.1", true],
  ["postgres:17.6-alpine", true],
  ["postgres:17.6", true],
  ["ghcr.io/edumigsoft/postgres:17.6-bookworm", true],
  ["localhost:5000/postgres:17.6", true],
  ["traefik", false],
  ["traefik:latest", false],
  ["traefik:LATEST", false],
  ["traefik:v3", false],
  ["traefik:3", false],
  ["postgres:17", false],
  ["postgres:16", false],
  ["postgres:17-alpine", false],
  ["postgres:alpine", false],
  ["postgres:bookworm", false],
  ["postgres:stable", false],
  [`postgres:latest@sha256:${D}`, false],
  ["postgres@sha256:abc", false],
  ["localhost:5000/postgres", false],
  ["Postgres:17.6", false],
  ["postgres:17.6 ", false],
  ["postgres:17.6;id", false],
  ["postgres:17.6\nid", false],
  ["postgres:$(id)", false],
];

const prod = () => ({ ...committedConfig("prod"), ...TEST_SECRETS });

/**
 * Whether the config takes `image` for `key`'s image. The data-volume check (a Postgres major other than
 * dataVersion) is another rule, not an image rule: it is left out of the verdict.
 */
function configAccepts(key: "traefik" | "postgres", image: string): boolean {
  try {
    parseStackConfig("prod", withValue(prod(), key, ["image"], image), new Set(Object.keys(TEST_SECRETS)));
    return true;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const imageRule = err.problems.filter((p) => !p.includes("cannot open the data volume"));
    for (const p of imageRule) expect(p).toMatch(new RegExp(`^ems-infra:${key}\\.image: `));
    return imageRule.length === 0;
  }
}

describe.each(IMAGES)("%j", (image, pinned) => {
  test(`config and the image-pinned policy both ${pinned ? "accept" : "refuse"} it`, () => {
    const policy = evaluatePack([container("c", { image })], "prod", { only: [imagePinned.name] });
    expect(policy).toEqual(pinned ? [] : [`[image-pinned] c: ${imageNotPinnedMessage(image)}`]);
    expect(configAccepts("traefik", image)).toBe(pinned);
    expect(configAccepts("postgres", image)).toBe(pinned);
  });
});

test("PostgreSQL major and Traefik version are read from the tag, digest or not", () => {
  expect([
    postgresMajor("postgres:17.6-alpine"),
    postgresMajor(`postgres:16.4@sha256:${D}`),
    postgresMajor(`postgres@sha256:${D}`),
    postgresMajor("postgres:latest"),
  ]).toEqual([17, 16, undefined, undefined]);
  expect(traefikVersion("traefik:v3.6.1")?.version).toBe("3.6.1");
  expect(traefikVersion(`docker.io/library/traefik:3.6@sha256:${D}`)?.version).toBe("3.6.0");
  expect(traefikVersion("registry:5000/traefik")).toBeUndefined();
});

import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { isPostgresImage, reveal, revealArray } from "../lib";

const POSTGRES_PUBLISHED_MESSAGE =
  "The Postgres container must not publish ports; it is reached over the internal Docker network.";

/**
 * 2. postgres-not-published: a container whose image is PostgreSQL (`postgres`, `postgresql`, `postgis`,
 * any registry/tag/digest) has no `ports` and no `publishAllPorts`.
 */
export const postgresNotPublished: ResourceValidationPolicy = {
  name: "postgres-not-published",
  description: "The PostgreSQL container publishes no host ports.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(docker.Container, (c, _args, reportViolation) => {
    // Ports first: the image (often RemoteImage.repoDigest) is unknown during a first preview.
    if (revealArray(c.ports).length === 0 && reveal(c.publishAllPorts) !== true) return;
    if (isPostgresImage(reveal(c.image))) reportViolation(POSTGRES_PUBLISHED_MESSAGE);
  }),
};

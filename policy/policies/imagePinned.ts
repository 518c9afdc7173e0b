import * as docker from "@pulumi/docker";
import { ResourceValidationPolicy, validateResourceOfType, ReportViolation } from "@pulumi/policy";
import { isPinnedImageRef, reveal } from "../lib";

/** Violation message for an image reference that is not pinned. */
export function imageNotPinnedMessage(ref: string): string {
  return `Image "${ref}" must be pinned to a release tag (e.g. postgres:16.6) or a sha256 digest, never latest.`;
}

function check(ref: unknown, reportViolation: ReportViolation): void {
  const image = reveal(ref);
  if (typeof image !== "string" || !isPinnedImageRef(image)) reportViolation(imageNotPinnedMessage(String(image)));
}

/**
 * 1. image-pinned: a Container's `image` and a RemoteImage's `name` carry a digest
 * (`repo@sha256:<64 hex>`, or a bare image id `sha256:<64 hex>`) or a release tag; `latest`, no tag,
 * well-known floating tags (`stable`, `alpine`, ...) and bare majors (`16`, `v3`) fail.
 */
export const imagePinned: ResourceValidationPolicy = {
  name: "image-pinned",
  description: "Container and RemoteImage images are pinned to a release tag or a digest, never latest.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(docker.Container, (c, _args, reportViolation) => check(c.image, reportViolation)),
    validateResourceOfType(docker.RemoteImage, (img, _args, reportViolation) => check(img.name, reportViolation)),
  ],
};

import * as docker from "@pulumi/docker";

/** Log rotation for every container: at most 3 files of 10 MB. */
export const LOG_ROTATION: Pick<docker.ContainerArgs, "logDriver" | "logOpts"> = {
  logDriver: "json-file",
  logOpts: { "max-size": "10m", "max-file": "3" },
};

/** Hardening shared by every container. */
export const HARDENING: Pick<docker.ContainerArgs, "securityOpts" | "restart"> = {
  securityOpts: ["no-new-privileges:true"],
  restart: "unless-stopped",
};

/** Container labels from a plain map, sorted so the order never shows up as a diff. */
export function toLabels(map: Record<string, string>): { label: string; value: string }[] {
  return Object.keys(map)
    .sort()
    .map((label) => ({ label, value: map[label] }));
}

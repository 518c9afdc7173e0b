/** What every Swarm service of the system shares: log limits, versioned object names, update and rollback rules. */
import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { LOG_ROTATION, goDuration, toLabels } from "./containerDefaults";

/** The same log rotation as the containers (3 files of 10 MB), as a task's log driver. */
export const SWARM_LOG_DRIVER: docker.types.input.ServiceTaskSpecLogDriver = {
  name: LOG_ROTATION.logDriver,
  options: LOG_ROTATION.logOpts,
};

/** Memory limit of each task, in bytes (the Service API counts bytes, the Container API MiB). */
export function taskResources(memoryMb: number): docker.types.input.ServiceTaskSpecResources {
  return { limits: { memoryBytes: memoryMb * 1024 * 1024 } };
}

/** A placement constraint requiring the node label `key=value` (a config pin such as `ems.postgres=true`). */
export function nodeLabelConstraint(pin: string): string {
  const at = pin.indexOf("=");
  if (at < 1) throw new Error(`node label ${JSON.stringify(pin)} must be key=value`);
  return `node.labels.${pin.slice(0, at)}==${pin.slice(at + 1)}`;
}

/**
 * A replicated service's rolling update: one task at a time, the new one started (and healthy) before the old
 * one stops, each watched for `monitorSeconds`; a failure rolls the whole service back to the previous spec.
 */
export function rollingUpdate(monitorSeconds: number): {
  updateConfig: docker.types.input.ServiceUpdateConfig;
  rollbackConfig: docker.types.input.ServiceRollbackConfig;
} {
  const monitor = goDuration(monitorSeconds);
  return {
    updateConfig: { parallelism: 1, order: "start-first", failureAction: "rollback", monitor, delay: "0s" },
    rollbackConfig: { parallelism: 1, order: "start-first", failureAction: "pause", monitor, delay: "0s" },
  };
}

/**
 * A single-copy service holding a port or a data directory (Traefik, Postgres, Portainer): the old task stops
 * before the new one starts (two servers on one volume corrupt it; two Traefiks cannot hold one host port).
 */
export function stopFirstUpdate(monitorSeconds: number): {
  updateConfig: docker.types.input.ServiceUpdateConfig;
  rollbackConfig: docker.types.input.ServiceRollbackConfig;
} {
  const monitor = goDuration(monitorSeconds);
  return {
    updateConfig: { parallelism: 1, order: "stop-first", failureAction: "rollback", monitor, delay: "0s" },
    rollbackConfig: { parallelism: 1, order: "stop-first", failureAction: "pause", monitor, delay: "0s" },
  };
}

/** Sha-256 of the content, 12 hex digits: the version in a config's name (its content is not sensitive). */
export function contentVersion(content: string | Buffer): string {
  return crypto.createHash("sha256").update(content).digest("hex").slice(0, 12);
}

/**
 * The version in a secret's name: an HMAC of the content under a generated key kept in the state, so the name
 * changes with the content (a rotation rolls the service) but says nothing about it.
 */
function secretVersion(content: string, key: string): string {
  return crypto.createHmac("sha256", key).update(content).digest("hex").slice(0, 12);
}

/**
 * A Swarm secret named `<base>-<version>`: secrets are immutable, so new content is a new secret, created
 * before the service moves to it and deleted after. The data is a Pulumi secret end to end.
 */
export function versionedSecret(
  name: string,
  base: string,
  content: pulumi.Input<string>,
  nameKey: pulumi.Input<string>,
  labels: Record<string, string>,
  parent: pulumi.Resource,
): docker.Secret {
  const versioned = pulumi.all([content, nameKey]).apply(([c, k]) => ({
    // The name is an HMAC: safe to show (unsecret), while the data stays a secret.
    name: `${base}-${secretVersion(c, k)}`,
    data: Buffer.from(c).toString("base64"),
  }));
  return new docker.Secret(
    name,
    {
      name: pulumi.unsecret(versioned.apply((v) => v.name)),
      data: pulumi.secret(versioned.apply((v) => v.data)),
      labels: toLabels(labels),
    },
    { parent, deleteBeforeReplace: false, additionalSecretOutputs: ["data"] },
  );
}

/** A Swarm config named `<base>-<content hash>` (immutable like a secret: new content, new config). */
export function versionedConfig(
  name: string,
  base: string,
  content: Buffer,
  labels: Record<string, string>,
  parent: pulumi.Resource,
): docker.ServiceConfig {
  return new docker.ServiceConfig(
    name,
    { name: `${base}-${contentVersion(content)}`, data: content.toString("base64"), labels: toLabels(labels) },
    { parent, deleteBeforeReplace: false },
  );
}

/**
 * Docker's local volume driver options for an NFS folder: the kernel mounts `device` from the server at `addr`
 * (an address: the kernel's NFS mount resolves no names) with the other options, on the node that uses it.
 */
export function nfsDriverOptions(address: string, folder: string, options: readonly string[]): Record<string, string> {
  return { type: "nfs", o: [`addr=${address}`, ...options].join(","), device: `:${folder}` };
}

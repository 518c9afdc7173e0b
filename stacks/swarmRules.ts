/** The cluster rules no single key can check: managers, pinned services, the platform's own keys. */
import { isRecord } from "./configErrors";
import * as path from "path";
import { PROJECT, SERVER_LOG_FOLDER } from "./configSchema";

/** Raft keeps a majority of managers: 1 (no tolerance), 3 (one may fail) or 5 (two may fail). */
const MANAGER_COUNTS = [1, 3, 5] as const;

/** Services pinned to one node by a label, and why the label must match exactly one node. */
const PINS = {
  postgres: "its volume is on one node's disk",
  traefik: "its ACME store is one file on one node (Traefik CE cannot share it)",
  portainer: "its data volume is on one node's disk",
  uploads:
    "the APIs' uploads folders are on one node's disk, so every API task runs there (or set swarm.sharedStorage)",
} as const;
const PIN_DEFAULTS: Record<keyof typeof PINS, string> = {
  postgres: "ems.postgres=true",
  traefik: "ems.acme=true",
  portainer: "ems.acme=true",
  uploads: "ems.postgres=true",
};

/**
 * On the raw (not yet validated) values, like the production rules: a value of the wrong shape is skipped here
 * (the schema reports it), so these problems are listed together with the schema's.
 */
export function checkSwarm(values: Record<string, unknown>, problems: string[]): void {
  const platform = values.platform ?? "docker";
  const swarm = values.swarm;
  // An unknown platform is the schema's problem alone.
  if (platform !== "docker" && platform !== "swarm") return;
  if (platform !== "swarm") {
    if (swarm !== undefined)
      problems.push(`${PROJECT}:swarm: is only read with ${PROJECT}:platform: swarm (the platform is "${platform}")`);
    return;
  }
  if (swarm === undefined) {
    problems.push(`${PROJECT}:swarm: is required with ${PROJECT}:platform: swarm (swarm.nodes lists the cluster)`);
    return;
  }
  if (isRecord(values.traefik) && values.traefik.manage === false)
    problems.push(
      `${PROJECT}:traefik.manage: must be true with ${PROJECT}:platform: swarm (the cluster's own Traefik routes its services)`,
    );
  // The API tasks' root is read-only (swarmApiService.ts): the server's log file must be in the mounted folder.
  if (isRecord(values.services))
    for (const [name, s] of Object.entries(values.services)) {
      if (!isRecord(s)) continue;
      const home = typeof s.homeDir === "string" ? s.homeDir : "/app";
      const logs = typeof s.logsDir === "string" ? s.logsDir : `/app/${SERVER_LOG_FOLDER}`;
      const expected = path.posix.join(home, SERVER_LOG_FOLDER);
      if (logs !== expected)
        problems.push(
          `${PROJECT}:services.${name}.logsDir: must be ${expected} (homeDir's ${SERVER_LOG_FOLDER}) with ${PROJECT}:platform: swarm: the server writes its log file there and the task's root is read-only`,
        );
    }
  if (!isRecord(swarm) || !Array.isArray(swarm.nodes)) return;
  const nodes = swarm.nodes.filter(isRecord);
  const managers = nodes.filter((n) => n.role === "manager").length;
  if (nodes.length > 0 && managers === 0)
    problems.push(`${PROJECT}:swarm.nodes: has no manager (role: manager); the swarm is initialised on the first one`);
  else if (managers > 0 && !(MANAGER_COUNTS as readonly number[]).includes(managers))
    problems.push(
      `${PROJECT}:swarm.nodes: has ${managers} managers; use 1, 3 or 5 (Raft needs a majority: an even count tolerates no more failures than one less)`,
    );
  const seen = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (typeof n.address !== "string") return;
    const first = seen.get(n.address.toLowerCase());
    if (first !== undefined)
      problems.push(`${PROJECT}:swarm.nodes.${i}.address: "${n.address}" is already node ${first}'s address`);
    else seen.set(n.address.toLowerCase(), i);
  });
  const pins = isRecord(swarm.pins) ? swarm.pins : {};
  // The API tasks run as root with every capability dropped: they can write only into folders root owns, and
  // HostLayout makes the folders as the node's SSH user.
  const apiPin = splitPin(pins.uploads ?? pins.postgres ?? PIN_DEFAULTS.postgres);
  nodes.forEach((n, i) => {
    const holdsApiFolders =
      swarm.sharedStorage !== undefined || (apiPin !== undefined && hasLabel(n, apiPin.key, apiPin.value));
    if (holdsApiFolders && typeof n.user === "string" && n.user !== "root")
      problems.push(
        `${PROJECT}:swarm.nodes.${i}.user: must be root on a node holding the APIs' folders ("${n.user}" given): the API tasks run as root with every capability dropped, so they write only into folders root owns, and the folders are made as this user`,
      );
  });
  for (const service of Object.keys(PINS) as (keyof typeof PINS)[]) {
    if (service === "portainer" && isRecord(values.portainer) && values.portainer.enabled === false) continue;
    // Unset, the uploads pin is the Postgres pin (checked above); with shared storage it pins nothing.
    if (service === "uploads" && (pins.uploads === undefined || swarm.sharedStorage !== undefined)) continue;
    const pin = pins[service] ?? PIN_DEFAULTS[service];
    const split = splitPin(pin);
    if (split === undefined) continue;
    const { key, value } = split;
    const matches = nodes.filter((n) => hasLabel(n, key, value));
    const matching = matches.length;
    if (service === "traefik" && matching === 1 && matches[0].role !== "manager")
      problems.push(
        `${PROJECT}:swarm.pins.traefik: "${pin}" matches a worker; Traefik's Swarm provider reads the services from a manager's API, so the node with ${key}: "${value}" must have role: manager`,
      );
    if (matching !== 1)
      problems.push(
        `${PROJECT}:swarm.pins.${service}: "${pin}" matches ${matching === 0 ? "no node" : `${matching} nodes`} in ${PROJECT}:swarm.nodes; exactly one node needs the label ${key}: "${value}" (${PINS[service]})`,
      );
  }
}

/** A `key=value` pin's parts; undefined for a value of another shape (the schema reports it). */
function splitPin(pin: unknown): { key: string; value: string } | undefined {
  if (typeof pin !== "string" || !pin.includes("=")) return undefined;
  return { key: pin.slice(0, pin.indexOf("=")), value: pin.slice(pin.indexOf("=") + 1) };
}

function hasLabel(node: Record<string, unknown>, key: string, value: string): boolean {
  return isRecord(node.labels) && node.labels[key] === value;
}

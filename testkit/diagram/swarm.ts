/**
 * `npm run diagram:swarm [-- --check]`: a Mermaid picture of the cluster the swarm platform deploys, generated
 * like `npm run diagram` from the resources the program registers under Pulumi's mocks (the committed prod stack
 * with `platform: swarm` and the example three-node cluster of testkit/swarm/config.ts): the nodes and their labels,
 * which services are pinned to a node and which are spread or global, the overlay networks, the published ports.
 * Writes docs/swarm-diagram.md; `--check` exits 1 when it is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { SECRET_SIG_KEY } from "../mockProgram";
import { RESOURCE_TYPES } from "../../components/resourceTypes";
import type { RegisteredResource } from "./mermaid";
import { REPO_ROOT } from "../../ops/runner/context";
import { SWARM_NODES, swarmProdConfig } from "../swarm/config";

export const SWARM_DIAGRAM_FILE = path.join(REPO_ROOT, "docs", "swarm-diagram.md");

interface SwarmNodeConfig {
  address: string;
  role: string;
  labels?: Record<string, string>;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- provider input shapes

function plain<T>(value: unknown): T {
  if (Array.isArray(value)) return value.map((v) => plain(v)) as T;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (SECRET_SIG_KEY in obj) return plain(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)])) as T;
  }
  return value as T;
}

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, "_")}`;

/** The picture: nodes as subgraphs holding their pinned services; spread and global services beside them. */
export function swarmDiagram(resources: readonly RegisteredResource[], nodes: readonly SwarmNodeConfig[]): string {
  const lines = ["flowchart LR", '  internet(("Internet / browser"))'];
  const services = resources.filter((r) => r.type === RESOURCE_TYPES.service).map((r) => plain<Json>(r.inputs));
  const networks = new Map<string, string>();
  const networkIds = new Map<string, string>();
  for (const r of resources.filter((x) => x.type === RESOURCE_TYPES.network)) {
    const n = plain<Json>(r.inputs);
    const nid = id("net", n.name);
    networks.set(n.name, nid);
    networkIds.set(`${r.name}-id`, nid);
    const flags = [n.driver, n.internal ? "internal" : "", n.options?.encrypted === "true" ? "encrypted" : ""];
    lines.push(`  ${nid}{{"network ${n.name}<br/>${flags.filter(Boolean).join(", ")}"}}`);
  }
  const pinnedTo = (s: Json): SwarmNodeConfig | undefined => {
    const constraint = ((s.taskSpec.placement?.constraints ?? []) as string[]).find((c) =>
      c.startsWith("node.labels."),
    );
    const m = constraint && /^node\.labels\.(.+)==(.+)$/.exec(constraint);
    return m ? nodes.find((n) => n.labels?.[m[1]] === m[2]) : undefined;
  };
  const svcLabel = (s: Json) => {
    const mode = s.mode?.global
      ? "global: one task per node"
      : `${s.mode?.replicated?.replicas ?? 1} replica${(s.mode?.replicated?.replicas ?? 1) > 1 ? "s" : ""}`;
    const spread = ((s.taskSpec.placement?.prefs ?? []) as string[]).length ? ", spread across nodes" : "";
    return `${s.name}<br/>${mode}${spread}`;
  };
  for (const node of nodes) {
    const labels = Object.entries(node.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    lines.push(
      `  subgraph ${id("node", node.address)}["${node.role} ${node.address}${labels.length ? `<br/>${labels.join(" ")}` : ""}"]`,
    );
    const pinned = services.filter((s) => pinnedTo(s) === node);
    if (pinned.length === 0) lines.push(`    ${id("free", node.address)}["(nothing pinned)"]`);
    for (const s of pinned) lines.push(`    ${id("svc", s.name)}["${svcLabel(s)}"]`);
    lines.push("  end");
  }
  for (const s of services.filter((x) => !pinnedTo(x))) lines.push(`  ${id("svc", s.name)}(["${svcLabel(s)}"])`);
  const edges: string[] = [];
  for (const s of services) {
    const sid = id("svc", s.name);
    for (const p of (s.endpointSpec?.ports ?? []) as Json[])
      edges.push(`  internet -->|":${p.publishedPort} ${p.publishMode}"| ${sid}`);
    for (const n of (s.taskSpec.networksAdvanceds ?? []) as Json[]) {
      const nid = networkIds.get(n.id);
      if (nid) edges.push(`  ${sid} --- ${nid}`);
    }
    if (!pinnedTo(s) && !s.mode?.global)
      for (const node of nodes) edges.push(`  ${sid} -.->|tasks| ${id("node", node.address)}`);
  }
  return `${[...lines, ...edges].join("\n")}\n`;
}

/** The document: the picture of the example cluster, and how to read it. */
export function swarmDiagramDocument(diagram: string): string {
  return [
    "# The cluster on `platform: swarm`",
    "",
    "Generated from the resources the program registers for the committed prod stack with `platform: swarm` and the",
    "example cluster below (`npm run diagram:swarm`); do not edit by hand. `npm run diagram:swarm -- --check` (run by",
    "the tests) fails when this file no longer matches the program. Boxes are nodes with their labels and the",
    "services pinned to them (the APIs run on the node holding their uploads folders); rounded boxes are services",
    "Swarm places itself (Portainer's agent on every node; the APIs too, spread, with `swarm.sharedStorage`); dotted",
    "arrows show that such a service's tasks may run on any node.",
    "",
    "```mermaid",
    diagram.trimEnd(),
    "```",
    "",
  ].join("\n");
}

/** docs/swarm-diagram.md as the program is now: the committed prod stack on the example cluster, under mocks. */
export async function generateSwarmDiagram(): Promise<string> {
  // Loaded here: the mock runtime replaces Pulumi's.
  const { runProgram } = await import("../mockProgram");
  const secrets = {
    "ems-infra:ghcrToken": "diagram-placeholder",
    "ems-infra:dashboardPassword": "diagram-placeholder",
  };
  const run = await runProgram("prod", swarmProdConfig(secrets), Object.keys(secrets));
  return swarmDiagramDocument(swarmDiagram(run.resources, SWARM_NODES as unknown as SwarmNodeConfig[]));
}

async function main(): Promise<number> {
  const doc = await generateSwarmDiagram();
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(SWARM_DIAGRAM_FILE) ? fs.readFileSync(SWARM_DIAGRAM_FILE, "utf8") : "";
    if (current !== doc) {
      process.stderr.write(`${path.relative(REPO_ROOT, SWARM_DIAGRAM_FILE)} is stale: run npm run diagram:swarm\n`);
      return 1;
    }
    return 0;
  }
  fs.writeFileSync(SWARM_DIAGRAM_FILE, doc);
  process.stdout.write(`wrote ${path.relative(REPO_ROOT, SWARM_DIAGRAM_FILE)}\n`);
  return 0;
}

if (require.main === module) main().then((code) => process.exit(code));

/**
 * A Mermaid picture of one stack from the resources the program registers (recorded under Pulumi's mocks):
 * containers, networks, volumes, host folders (bind mounts), the public routes and who reaches whom.
 * Pure: the same resources always give the same text.
 */
import { SECRET_SIG_KEY } from "../mockProgram";
import { RESOURCE_TYPES } from "../../components/resourceTypes";

/** A registered resource, as the mock runtime records it (type, name and plain inputs). */
export interface RegisteredResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const { container: CONTAINER, network: NETWORK, volume: VOLUME, image: REMOTE_IMAGE } = RESOURCE_TYPES;

interface Label {
  label: string;
  value: string;
}

/** The value inside a secret envelope, or the value. */
function plain<T>(value: unknown): T {
  if (value && typeof value === "object" && SECRET_SIG_KEY in (value as Record<string, unknown>))
    return (value as { value: T }).value;
  return value as T;
}

const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, "_")}`;
const text = (s: string) => s.replace(/"/g, "'");

/**
 * Host paths inside `checkout` (the project folder: dev's relative paths) are drawn relative to it (`./.dev-data`),
 * so the picture does not depend on who generated it or where; absolute paths (prod's) are drawn as they are.
 */
export function stackDiagram(resources: readonly RegisteredResource[], checkout: string): string {
  const lines = ["flowchart LR", '  internet(("Internet / browser"))'];
  const tidy = (p: string) => (checkout && p.startsWith(`${checkout}/`) ? `.${p.slice(checkout.length)}` : p);
  const networks = new Map<string, string>();
  for (const n of resources.filter((r) => r.type === NETWORK)) {
    const name = String(n.inputs.name ?? n.name);
    networks.set(name, id("net", name));
    lines.push(`  ${id("net", name)}{{"network ${text(name)}${n.inputs.internal ? " (internal)" : ""}"}}`);
  }
  const volumes = new Set(resources.filter((r) => r.type === VOLUME).map((v) => String(v.inputs.name ?? v.name)));
  for (const v of [...volumes].sort()) lines.push(`  ${id("vol", v)}[("volume ${text(v)}")]`);

  const edges: string[] = [];
  const containers = resources.filter((r) => r.type === CONTAINER).sort((a, b) => a.name.localeCompare(b.name));
  for (const c of containers) {
    const cid = id("ctr", c.name);
    const name = typeof c.inputs.name === "string" ? c.inputs.name : `${c.name} (generated name)`;
    const image = imageLabel(c, resources);
    lines.push(`  ${cid}["${text(name)}<br/>${text(image)}"]`);

    for (const p of plain<Array<{ external?: number; internal: number }>>(c.inputs.ports) ?? []) {
      if (p.external !== undefined) edges.push(`  internet -->|":${p.external}"| ${cid}`);
    }
    for (const n of plain<Array<{ name: string; aliases?: string[] }>>(c.inputs.networksAdvanced) ?? []) {
      const nid = networks.get(n.name) ?? id("net", n.name);
      if (!networks.has(n.name)) {
        networks.set(n.name, nid);
        lines.push(`  ${nid}{{"network ${text(n.name)} (external)"}}`);
      }
      edges.push(`  ${cid} --- ${nid}`);
    }
    for (const m of plain<Array<{ type: string; source?: string; target: string; readOnly?: boolean }>>(
      c.inputs.mounts,
    ) ?? []) {
      const mode = m.readOnly ? " (ro)" : "";
      if (m.type === "volume" && m.source)
        edges.push(`  ${cid} ---|"${text(m.target)}${mode}"| ${id("vol", m.source)}`);
      else if (m.type === "bind" && m.source) {
        const host = tidy(m.source);
        const hid = id("dir", host);
        if (!lines.includes(`  ${hid}[/"${text(host)}"/]`)) lines.push(`  ${hid}[/"${text(host)}"/]`);
        edges.push(`  ${cid} ---|"${text(m.target)}${mode}"| ${hid}`);
      }
    }
    const labels = plain<Label[]>(c.inputs.labels) ?? [];
    for (const l of labels
      .filter((x) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(x.label))
      .sort((a, b) => a.label.localeCompare(b.label))) {
      const hosts = [...l.value.matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1]);
      for (const h of hosts) edges.push(`  proxy_routes -->|"https://${text(h)}"| ${cid}`);
    }
  }
  if (edges.some((e) => e.startsWith("  proxy_routes"))) {
    const traefik = containers.find((c) => /traefik/.test(String(c.inputs.image ?? "")));
    const from = traefik ? id("ctr", traefik.name) : "internet";
    for (let i = 0; i < edges.length; i++) edges[i] = edges[i].replace(/^ {2}proxy_routes/, `  ${from}`);
  }
  return [...lines, ...new Set(edges)].join("\n") + "\n";
}

/** The image's repository without tag or digest (versions change every deploy, the picture should not). */
function imageLabel(container: RegisteredResource, resources: readonly RegisteredResource[]): string {
  const pulled = resources.find((r) => r.type === REMOTE_IMAGE && r.name === `${container.name}-image`);
  const ref = String(pulled?.inputs.name ?? container.inputs.image ?? "");
  if (/^sha256:/.test(ref)) return "image built on this machine";
  const noDigest = ref.split("@")[0];
  const colon = noDigest.lastIndexOf(":");
  return colon > noDigest.lastIndexOf("/") ? noDigest.slice(0, colon) : noDigest;
}

/** The whole docs/diagram.md: one picture per stack, in the order given. */
export function diagramDocument(stacks: ReadonlyArray<{ stack: string; diagram: string }>): string {
  const parts = [
    "# What each stack deploys",
    "",
    "Generated from the resources the program registers (`npm run diagram`); do not edit by hand.",
    "`npm run diagram -- --check` (run by the tests) fails when this file no longer matches the program.",
    "",
  ];
  for (const s of stacks) parts.push(`## Stack \`${s.stack}\``, "", "```mermaid", s.diagram.trimEnd(), "```", "");
  return parts.join("\n");
}

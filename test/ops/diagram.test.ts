import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  DIAGRAM_FILE,
  README_FILE,
  generateDiagram,
  generateStackDiagrams,
  readmeWithDiagram,
  stackDiagram,
} from "../support";
import { REPO_ROOT } from "../../ops/runner/context";
import { T } from "../support";

const TSX = path.join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs");

describe("docs/diagram.md", () => {
  it("matches the program (regenerate with `npm run diagram`)", async () => {
    const fresh = await generateDiagram();
    expect(fs.readFileSync(DIAGRAM_FILE, "utf8")).toBe(fresh);
  });

  it("is the same whoever generates it and from wherever (`--check` with another home folder and working directory)", () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-elsewhere-"));
    try {
      const check = spawnSync(
        process.execPath,
        [TSX, path.join(REPO_ROOT, "testkit", "diagram", "command.ts"), "--check"],
        {
          cwd: elsewhere,
          env: { ...process.env, HOME: elsewhere, USER: "someone-else" },
          encoding: "utf8",
          timeout: 60_000,
        },
      );
      // stderr may hold the program's own warnings (prod without an off-site backup); the verdict is stdout's.
      expect({ status: check.status, stdout: check.stdout, error: check.stderr.match(/^error: .*/m)?.[0] }).toEqual({
        status: 0,
        stdout: "docs/diagram.md and the README's diagram match the program\n",
        error: undefined,
      });
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("an invalid stack file gives the list of problems, naming the file, and no program run", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "diagram-invalid-"));
    try {
      const dev = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
      fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), dev.replace("keepDaily: 7", "keepDaily: many"));
      fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), path.join(root, "Pulumi.prod.yaml"));
      await expect(generateStackDiagrams(root)).rejects.toThrow(
        new Error(
          "Pulumi.dev.yaml: Invalid configuration (1 problem):\n  - ems-infra:backup.keepDaily: must be a number, got a string",
        ),
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("the README shows the same pictures, between its diagram markers", async () => {
    const readme = fs.readFileSync(README_FILE, "utf8");
    expect(readmeWithDiagram(readme, await generateStackDiagrams())).toBe(readme);
    expect(readme).toContain("```mermaid\nflowchart LR");
  });

  it("draws routes from Traefik, networks, volumes and host folders, the checkout's own as ./ and absolute ones as they are", () => {
    const text = stackDiagram(
      [
        { type: T.network, name: "postgres-network", inputs: { name: "ems_system_db", internal: true } },
        {
          type: T.container,
          name: "traefik",
          inputs: {
            name: "infra_traefik",
            image: "traefik@sha256:ab",
            ports: [{ internal: 443, external: 443 }],
            networksAdvanced: [{ name: "proxy" }],
          },
        },
        {
          type: T.container,
          name: "ems",
          inputs: {
            image: "ghcr.io/edumigsoft/ems-server@sha256:cd",
            networksAdvanced: [{ name: "ems_system_db" }],
            mounts: [
              { type: "bind", source: "/home/eduardo/ems-infra/.dev-data/uploads/ems", target: "/app/uploads" },
              { type: "bind", source: "/root/ems_system/data/logs/ems", target: "/app/logs" },
            ],
            labels: [{ label: "traefik.http.routers.ems-system-ems.rule", value: "Host(`api.ems.local`)" }],
          },
        },
      ],
      "/home/eduardo/ems-infra",
    );
    expect(text).toContain('  ctr_ems["ems (generated name)<br/>ghcr.io/edumigsoft/ems-server"]');
    expect(text).toContain('  ctr_traefik -->|"https://api.ems.local"| ctr_ems');
    expect(text).toContain('  internet -->|":443"| ctr_traefik');
    expect(text).toContain('  net_ems_system_db{{"network ems_system_db (internal)"}}');
    expect(text).toContain('  ctr_ems ---|"/app/uploads"| dir____dev_data_uploads_ems');
    expect(text).toContain('[/"./.dev-data/uploads/ems"/]');
    expect(text).toContain('[/"/root/ems_system/data/logs/ems"/]');
  });
});

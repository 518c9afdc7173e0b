import * as fs from "fs";
import {
  DIAGRAM_FILE,
  README_FILE,
  generateDiagram,
  generateStackDiagrams,
  readmeWithDiagram,
  stackDiagram,
} from "../support";

import { T } from "../support";

describe("docs/diagram.md", () => {
  it("matches the program (regenerate with `npm run diagram`)", async () => {
    const fresh = await generateDiagram();
    expect(fs.readFileSync(DIAGRAM_FILE, "utf8")).toBe(fresh);
  });

  it("the README shows the same pictures, between its diagram markers", async () => {
    const readme = fs.readFileSync(README_FILE, "utf8");
    expect(readmeWithDiagram(readme, await generateStackDiagrams())).toBe(readme);
    expect(readme).toContain("```mermaid\nflowchart LR");
  });

  it("draws routes from Traefik, networks, volumes and host folders with the home folder as ~", () => {
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
            mounts: [{ type: "bind", source: "/home/eduardo/ems/.dev-data/uploads/ems", target: "/app/uploads" }],
            labels: [{ label: "traefik.http.routers.ems-system-ems.rule", value: "Host(`api.ems.local`)" }],
          },
        },
      ],
      "/home/eduardo",
    );
    expect(text).toContain('  ctr_ems["ems (generated name)<br/>ghcr.io/edumigsoft/ems-server"]');
    expect(text).toContain('  ctr_traefik -->|"https://api.ems.local"| ctr_ems');
    expect(text).toContain('  internet -->|":443"| ctr_traefik');
    expect(text).toContain('  net_ems_system_db{{"network ems_system_db (internal)"}}');
    expect(text).toContain('  ctr_ems ---|"/app/uploads"| dir___ems__dev_data_uploads_ems');
    expect(text).toContain('[/"~/ems/.dev-data/uploads/ems"/]');
  });
});

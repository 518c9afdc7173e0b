/** docs/swarm-diagram.md is the picture the program draws now (like docs/diagram.md): regenerate, compare. */
import * as fs from "fs";
import { SWARM_DIAGRAM_FILE, generateSwarmDiagram } from "../support";

test("docs/swarm-diagram.md matches the program (npm run diagram:swarm rewrites it)", async () => {
  const doc = await generateSwarmDiagram();
  expect(fs.readFileSync(SWARM_DIAGRAM_FILE, "utf8")).toBe(doc);
  // What the README says the picture shows.
  expect(doc).toContain('subgraph node_192_0_2_10["manager 192.0.2.10<br/>ems.acme=true"]');
  expect(doc).toContain('    svc_ems_system_traefik["ems_system-traefik<br/>1 replica"]');
  expect(doc).toContain('    svc_ems_system_postgres["ems_system-postgres<br/>1 replica"]');
  // The APIs run on the node holding their uploads (the Postgres node by default), beside the database.
  expect(doc).toContain(
    '  subgraph node_192_0_2_11["worker 192.0.2.11<br/>ems.postgres=true"]\n    svc_ems_system_postgres["ems_system-postgres<br/>1 replica"]\n    svc_ems_system_ems["ems_system-ems<br/>2 replicas"]\n',
  );
  expect(doc).toContain('net_ems_system_db{{"network ems_system_db<br/>overlay, internal, encrypted"}}');
}, 60_000);

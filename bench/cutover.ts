/**
 * `npm run bench:cutover` (tsx bench/cutover.ts): the downtime of `npm run migrate`, measured on the real dockerd
 * against an old system that behaves like the real one in motion (APIs that ignore SIGTERM and log into PostgreSQL at
 * start, uploads in the old EMS layer): it runs the cut-over rehearsal (test/migrate/rehearsal.test.ts, through jest,
 * since bench/ never imports test/) and prints the downtime that rehearsal measured (old Traefik stopped → first API
 * answering through the new Traefik). Exits 1 when the rehearsal fails or the downtime is over the 15 s budget.
 * Loopback and its own networks only; the rehearsal removes everything it creates.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const BUDGET_SECONDS = 15;
const root = path.resolve(__dirname, "..");

const r = spawnSync(
  process.execPath,
  [path.join(root, "node_modules", "jest", "bin", "jest.js"), "test/migrate/rehearsal.test.ts", "--colors=false"],
  { cwd: root, encoding: "utf8", env: { ...process.env, CI: "true" }, timeout: 900_000 },
);
const output = `${r.stdout}${r.stderr}`;
const log = /rehearsal \(cut-over\):\n([\s\S]*?)\n\s*at /.exec(output)?.[1];
if (log) console.log(log.replace(/^\s+/gm, "  "));
const downtime = /rehearsal: measured downtime ([\d.]+) s/.exec(output)?.[1];
if (r.status !== 0 || !downtime) {
  console.error(output.slice(-4000));
  console.error(`bench:cutover: the rehearsal did not complete (exit ${r.status ?? r.signal})`);
  process.exit(1);
}
console.log(`bench:cutover: downtime ${downtime} s (budget ${BUDGET_SECONDS} s)`);
process.exit(Number(downtime) <= BUDGET_SECONDS ? 0 : 1);

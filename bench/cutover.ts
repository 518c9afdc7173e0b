/**
 * `npm run bench:cutover` (tsx bench/cutover.ts): the downtime of `npm run migrate`, measured on the real dockerd
 * against an old system that behaves like the real one in motion (test/support/vps.ts: APIs that ignore SIGTERM and
 * log into PostgreSQL at start, uploads in the old EMS layer), with the prod stack created from the program's own
 * specs (test/support/cutover.ts). Prints the cut-over's log and the measured downtime (old Traefik stopped → first
 * API answering through the new Traefik), and exits 1 above the 15 s budget. Loopback and its own networks only;
 * everything it creates is removed.
 */
import { buildTestImages, dockerUnavailableReason, ensureDocker } from "../test/support";
import { Rehearsal, startRehearsal } from "../test/support/cutover";

const BUDGET_SECONDS = 15;

async function main(): Promise<number> {
  if (!ensureDocker()) {
    console.error(`bench:cutover: no Docker engine: ${dockerUnavailableReason()}`);
    return 1;
  }
  buildTestImages();
  let r: Rehearsal | undefined;
  try {
    r = await startRehearsal();
    const { result, log } = await r.cutover({ adoptCredentials: true });
    console.log(log.map((l) => `  ${l}`).join("\n"));
    if (result?.outcome !== "migrated") {
      console.error(`bench:cutover: the cut-over did not complete: ${result?.outcome}`);
      return 1;
    }
    console.log(`bench:cutover: downtime ${result.downtimeSeconds} s (budget ${BUDGET_SECONDS} s)`);
    return result.downtimeSeconds <= BUDGET_SECONDS ? 0 : 1;
  } finally {
    await r?.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * The host command lines of the pre-flight (ops/preflight.ts runs them and parses what they print): the engine's
 * version, the old containers, the backups folder's free space, the databases' size and the crontab.
 */
import { shellQuote as q } from "../../components/shell";
import { ENGINE_COMMANDS } from "./engine";

/** The commands the runner sends to the host (exported so the tests run them for real). */
export const PREFLIGHT_COMMANDS = {
  engine: ENGINE_COMMANDS.version(),
  containers: "docker ps -a --format '{{.Names}}\t{{.State}}'",
  /** Free space of the folder, or of its nearest existing parent when it does not exist yet. */
  df: (dir: string) => `d=${q(dir)}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk -- "$d"`,
  databaseBytes: (container: string, user: string) =>
    `docker exec ${q(container)} psql -X -A -t -q -U ${q(user)} -d postgres -c ${q("SELECT coalesce(sum(pg_database_size(datname)), 0) FROM pg_database")}`,
  /** `crontab -l` prints "no crontab for root" and fails when there is none: that is an empty crontab. */
  crontab: "crontab -l 2>/dev/null || true",
};

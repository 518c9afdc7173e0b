/** The host command line listing who mounts a data volume (ops/dataVolume.ts judges what it prints). */
import { shellQuote as q } from "../../components/shell";

/** Every container mounting `volume`, `name<TAB>com.ems.system label` a line (`-H` when the engine is elsewhere). */
export function volumeHoldersCommand(volume: string, dockerHost?: string): string {
  return `docker${dockerHost ? ` -H ${q(dockerHost)}` : ""} ps -a --filter ${q(`volume=${volume}`)} --format '{{.Names}}\\t{{.Label "com.ems.system"}}'`;
}

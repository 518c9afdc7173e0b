/** What `npm run status` prints: uptimes, sizes and the containers table. */
import { ContainerInfo, digestOf, isCrashLooping, lastExitCode, versionOf } from "./containers";

/** `2d 3h`, `4h 12m`, `35s` since an ISO time. */
function formatUptime(startedAt: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(startedAt).getTime()) / 1000));
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return m ? `${m}m` : `${seconds}s`;
}

/** `12.3 MiB` */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The containers table; rows sorted by service then name. Missing containers (named by the output, not found) are rows too. */
export function formatContainers(
  containers: readonly ContainerInfo[],
  missing: readonly string[],
  urls: Record<string, string>,
  now: Date,
): string {
  const rows = [["SERVICE", "CONTAINER", "VERSION", "DIGEST", "HEALTH", "UPTIME", "RESTARTS", "URL"]];
  const sorted = [...containers].sort((a, b) => a.service.localeCompare(b.service) || a.name.localeCompare(b.name));
  for (const c of sorted) {
    const health = isCrashLooping(c)
      ? `${c.state === "running" ? (c.health ?? "running") : c.state} (crash loop, last exit ${lastExitCode(c) ?? "unknown"})`
      : c.state === "running"
        ? (c.health ?? "running")
        : `${c.state} (exit ${c.exitCode})`;
    const uptime = c.state === "running" ? formatUptime(c.startedAt, now) : "-";
    rows.push([
      c.service,
      c.name,
      versionOf(c),
      digestOf(c),
      health,
      uptime,
      String(c.restartCount),
      urls[c.service] ?? "-",
    ]);
  }
  for (const m of missing) rows.push([m, "(missing)", "-", "-", "missing", "-", "-", urls[m] ?? "-"]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join("\n") +
    "\n"
  );
}

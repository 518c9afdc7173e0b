/** What the host must hold that `pulumi refresh` never re-reads (the stack exports it; `npm run drift` checks it). */
export interface HostExpectations {
  /** Folders that must exist; `mode` (octal, e.g. "700") is checked when given. */
  folders: { path: string; mode?: string }[];
  /** The backup job: its crontab entry is tagged `# ems-infra:<job>` and must equal `line`. */
  cron?: { job: string; line: string };
  /** The off-site restore drill's crontab entry (`# ems-infra:drill-<job>`), when the off-site copy is on. */
  drillCron?: { job: string; line: string };
  /** The roles and databases ensure-databases.sh made, read with `docker exec <container> psql -U <superuser>`. */
  postgres?: {
    /** The Postgres container name (with `runsAs: swarm-service`, the Swarm service whose task on this node is read). */
    container: string;
    /** `container` (default): a container of that name; `swarm-service`: the service's running task on this node. */
    runsAs?: "container" | "swarm-service";
    /** The superuser the query connects as. */
    superuser: string;
    /** Login roles that must exist (one per service). */
    roles: string[];
    /** Databases that must exist, with their owner. */
    databases: { name: string; owner: string }[];
  };
}

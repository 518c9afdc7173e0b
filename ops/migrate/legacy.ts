/**
 * Today's compose system on the VPS (real-system.md §1.3–1.5), by the names it really has.
 * The rehearsal test maps every name through `legacySystem(rename)` so it can run beside other tests.
 */
export interface LegacySystem {
  /** The API containers, stopped first (`ems_server_prod`, `sms_server_prod`). */
  apiContainers: string[];
  /** Traefik and Portainer (the first is Traefik: it is stopped first, so no request reaches the old APIs). */
  edgeContainers: string[];
  /** The PostgreSQL container, stopped last and started first. */
  postgresContainer: string;
  /** The PostgreSQL data volume the stack adopts: never open in two containers at once. */
  dataVolume: string;
  /** Superuser on the data volume, the one `pg_dumpall` connects as. */
  postgresSuperuser: string;
  /** Traefik's ACME storage file on the host (mode 600). */
  acmeFile: string;
  /** Crontab substrings that identify the old backup job. */
  cronMarkers: string[];
}

/** Every container of the old system, in the order they are stopped: Traefik, the APIs, Portainer, Postgres. */
export function stopOrder(legacy: LegacySystem): string[] {
  const [proxy, ...others] = legacy.edgeContainers;
  return [...(proxy ? [proxy] : []), ...legacy.apiContainers, ...others, legacy.postgresContainer];
}

/** The same containers in the order they are started again on undo: Postgres first. */
export function startOrder(legacy: LegacySystem): string[] {
  return [legacy.postgresContainer, ...legacy.edgeContainers, ...legacy.apiContainers];
}

/** Today's VPS; `rename` maps container names (identity in production). */
export function legacySystem(
  rename: (name: string) => string = (n) => n,
  acmeFile = "/root/infra/letsencrypt/ems_system.json",
): LegacySystem {
  return {
    apiContainers: ["ems_server_prod", "sms_server_prod"].map(rename),
    edgeContainers: ["traefik", "portainer"].map(rename),
    postgresContainer: rename("postgres_ems_system"),
    dataVolume: rename("postgres_ems_system_data"),
    postgresSuperuser: "postgres",
    acmeFile,
    cronMarkers: ["/backups/backup.sh", rename("postgres_ems_system")],
  };
}

import { BackupArgs } from "../../components/backup";

/** The prod stack's backup job, as stacks/system.ts builds it from Pulumi.prod.yaml. */
export const PROD_BACKUP: Omit<BackupArgs, "postgresContainer" | "connection"> = {
  schedule: "0 3 * * *",
  backupDir: "/root/ems_system/data/backups",
  scriptsDir: "/root/ems_system/data/bin",
  logFile: "/root/ems_system/data/logs/backup.log",
  keepDaily: 14,
  keepWeekly: 8,
  postgresUser: "postgres",
  jobName: "ems_system-backup",
};

/** The same job with its folders moved under `root` (a temporary folder). */
export function backupUnder(root: string): Omit<BackupArgs, "postgresContainer" | "connection"> {
  const under = (p: string) => `${root}${p.slice("/root".length)}`;
  return {
    ...PROD_BACKUP,
    backupDir: under(PROD_BACKUP.backupDir),
    scriptsDir: under(PROD_BACKUP.scriptsDir),
    logFile: under(PROD_BACKUP.logFile),
  };
}

/**
 * The variables the real EMS and SMS servers require, in the order they check them (ems_system @ 6fc6f99:
 * injector.dart:15-39, bin/server.dart:29-30): the first one missing makes the server exit.
 */
export const SERVER_REQUIRED_ENV = [
  "JWT_KEY",
  "VERIFICATION_LINK_BASE_URL",
  "DB_HOST",
  "DB_PORT",
  "DB_USER",
  "DB_PASS",
  "DB_NAME",
  "API_KEY",
] as const;

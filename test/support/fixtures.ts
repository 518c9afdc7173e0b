import { BackupArgs } from "../../components/backup";

/** The prod stack's backup job, as stacks/system.ts builds it from Pulumi.prod.yaml. */
export const PROD_BACKUP: Omit<BackupArgs, "postgresContainer" | "connection"> = {
  schedule: "0 3 * * *",
  backupDir: "/root/ems_system/data/backups",
  scriptsDir: "/root/ems_system/data/bin",
  logFile: "/root/ems_system/data/logs/backup.log",
  keepDaily: 14,
  keepWeekly: 8,
  postgresUser: "ems",
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

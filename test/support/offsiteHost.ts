/**
 * The off-site suites' host: one throwaway PostgreSQL with the two systems' databases (a role that owns one, a quoted
 * schema, a multi-line value, an empty table), and fresh host folders per test with uploads, an ACME store and config.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { offsiteEnvironment, systemFolders, SystemFolders, writeUploads } from "../../testkit/restic";
import { PgServer, runScript, startPostgres } from "./postgres";

export const OFFSITE_PASSWORD = "correct horse battery staple 42";

const EMS_SQL = `
CREATE TABLE people (id serial PRIMARY KEY, name text NOT NULL, photo bytea);
INSERT INTO people (name, photo) SELECT 'person ' || g, decode(md5(g::text), 'hex') FROM generate_series(1, 250) g;
CREATE SCHEMA "Escola";
CREATE TABLE "Escola"."Turma 1" (id int PRIMARY KEY, note text);
INSERT INTO "Escola"."Turma 1" VALUES (1, E'multi\\nline'), (2, 'ok');
CREATE TABLE empty_table (id int);
`;

export interface OffsiteHost {
  root: string;
  repo: string;
  env: NodeJS.ProcessEnv;
  folders: SystemFolders;
}

/** Registers the suite's PostgreSQL and work folder (beforeAll/afterAll); `host()` lays out a fresh host. */
export function offsiteHosts() {
  let pg: PgServer | undefined;
  let work = "";
  let counter = 0;
  beforeAll(async () => {
    pg = await startPostgres();
    pg.psql("CREATE ROLE ems_user LOGIN PASSWORD 'ems-pass-123456'; CREATE DATABASE ems_app OWNER ems_user;");
    pg.psql("CREATE DATABASE sms_app;");
    pg.psql(EMS_SQL, "ems_app");
    pg.psql(
      "CREATE TABLE messages (id int PRIMARY KEY, body text); INSERT INTO messages VALUES (1, 'Olá');",
      "sms_app",
    );
    work = fs.mkdtempSync(path.join(os.tmpdir(), "ems-offsite-"));
  });
  afterAll(() => {
    pg?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });
  const server = (): PgServer => {
    if (!pg) throw new Error("offsiteHosts: PostgreSQL is not started (use it inside a test)");
    return pg;
  };
  return {
    get pg(): PgServer {
      return server();
    },
    get work(): string {
      return work;
    },
    /** A fresh host (its folders, uploads, an ACME store) and its env for a local-folder or given repository. */
    host(repository?: string, password = OFFSITE_PASSWORD): OffsiteHost {
      const root = path.join(work, `host${++counter}`);
      const folders = systemFolders(root);
      writeUploads(folders.uploads.ems, {
        "escola-1/matricula.pdf": crypto.randomBytes(40_000),
        "escola-1/foto ção.jpg": crypto.randomBytes(10_000),
        "leia-me.txt": "documento\n",
      });
      writeUploads(folders.uploads.sms, { "anexo.bin": crypto.randomBytes(5_000) });
      fs.writeFileSync(path.join(folders.acme, "ems_system.json"), '{"ems_system_resolver":{"Certificates":[]}}', {
        mode: 0o600,
      });
      fs.writeFileSync(path.join(folders.config, "ems.yml"), "http: {}\n");
      const repo = repository ?? path.join(root, "repo");
      const secrets = path.join(root, "secrets");
      fs.mkdirSync(secrets, { mode: 0o700 });
      const env: NodeJS.ProcessEnv = {
        ...server().env,
        PG_EXEC: "",
        ...offsiteEnvironment(folders, { repository: repo, password }, secrets),
      };
      return { root, repo, env, folders };
    },
  };
}

/** One nightly run of backup.sh (dumps, retention, then the off-site copy). */
export function nightly(env: NodeJS.ProcessEnv, now?: string) {
  return runScript("backup.sh", [], { env: { ...env, ...(now ? { BACKUP_NOW: now } : {}) }, timeoutMs: 60_000 });
}

/**
 * "Today's VPS" on the test's dockerd, as the real compose files describe it (real-system.md §1.3–1.5),
 * and the prod stack's containers created from the program's own specs, for the cut-over rehearsal.
 *
 * - Every Docker name goes through `rename` (a per-run suffix), the old and the new side alike, so the
 *   adopted volume and network really are the same objects; the cut-over gets the renamed names through
 *   `legacySystem(rename)`.
 * - `/root/...` host paths live under `root` (a temp folder): `hostPath("/root/infra/...")`.
 * - Traefik and Portainer have no image here: the old ones are stand-in containers (their states are what
 *   the cut-over handles); the new Traefik is {@link TestProxy}, an HTTPS proxy in the test process that
 *   routes by the API containers' own Traefik labels.
 * - The old system in motion (real-system.md §6): the APIs run the `-pg` stand-ins with the old `.env` values, so
 *   they log into PostgreSQL at start and crash-loop (`unless-stopped`) when refused; the EMS uploads live in its
 *   container's layer (`/uploads/<yyyy>/<mm>/…`, UPLOAD_PATH unset) while the bind-mounted host folder holds only an
 *   older file; the old Postgres runs with POSTGRES_PASSWORD empty (the compose POSTGRES_PASS defect); the old
 *   backup job is a real `backup.sh` and its cron line sits in a crontab file (`crontabFile`).
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ContainerInputs, docker, dockerRunArgs, IMAGES, plain, run } from "./dockerEngine";
import { RecordedResource } from "./stackHarness";

/** Compose's labels on a volume it created (docker compose v2, project `postgres`, volume key `postgres_data`). */
const COMPOSE_VOLUME_LABELS = {
  "com.docker.compose.project": "postgres",
  "com.docker.compose.volume": "postgres_data",
  "com.docker.compose.version": "2.29.7",
};

/** What the old system's roles and tables hold, written as the real provisioning SQL does (pg README). */
const PROVISION = (svc: string, password: string) => `
CREATE ROLE ${svc}_user LOGIN PASSWORD '${password}';
CREATE DATABASE ${svc}_production;
GRANT ALL PRIVILEGES ON DATABASE ${svc}_production TO ${svc}_user;
\\connect ${svc}_production
GRANT ALL ON SCHEMA public TO ${svc}_user;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO ${svc}_user;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO ${svc}_user;
`;

/** Rows written by the service's own role, as the API would. */
const ROWS: Record<string, string> = {
  ems: String.raw`
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE notebooks (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, owner integer REFERENCES users(id), title text, body jsonb, file bytea);
INSERT INTO users (email, name, created_at) VALUES
  ('ana@edumigsoft.com.br', 'Ana Conceição', '2026-01-10 09:00:00-03'),
  ('joao@edumigsoft.com.br', E'João D''Ávila\tTI', '2026-02-01 12:30:00.5-03');
INSERT INTO notebooks (owner, title, body, file) VALUES
  (1, 'Aula 1 — frações', '{"tags": ["matemática"], "n": 3}', '\x89504e470d0a1a0a'),
  (2, NULL, NULL, decode(repeat('00ff', 512), 'hex'));
INSERT INTO users (email, name, created_at) SELECT 'u' || g || '@x.br', md5(g::text), '2026-03-01' FROM generate_series(1, 500) g;
`,
  sms: String.raw`
CREATE TABLE messages (id bigserial PRIMARY KEY, phone text NOT NULL, body text NOT NULL, sent_at timestamptz);
INSERT INTO messages (phone, body, sent_at) VALUES ('+5511999990000', 'Olá! Sua matrícula foi confirmada ✓', '2026-03-01 08:00:00+00'), ('+5521988887777', 'Lembrete: prova amanhã', NULL);
`,
};

export interface TodaysVps {
  /** Maps every Docker name (container, volume, network) to this run's. */
  rename: (name: string) => string;
  /** The temp folder standing for the host's `/`. */
  root: string;
  hostPath(p: string): string;
  network: string;
  volume: string;
  postgres: string;
  /** The old API containers by service. */
  apis: Record<string, string>;
  /** The old API keys by service (the old `.env`). */
  apiKeys: Record<string, string>;
  /** Host path of /root/infra/letsencrypt/ems_system.json. */
  acmeFile: string;
  /** Host paths of /root/ems_system/data/uploads/<svc>. */
  uploads: Record<string, string>;
  /** Host path of /root/ems_system/data/backups. */
  backupDir: string;
  /** The files the old EMS wrote into its own layer, relative to /uploads, with their bytes. */
  layerUploads: Record<string, Buffer>;
  /** The old `.env` of each API (what `docker inspect` shows). */
  oldEnv: Record<string, Record<string, string>>;
  /** The host's crontab (a file standing for `crontab -l`), holding the old backup line. */
  crontabFile: string;
  /** The old backup line as the README installs it. */
  oldCronLine: string;
  /** The old backup script (its retention: `find … -name "*.sql.gz" -mtime +7 -delete`). */
  backupScript: string;
  /** psql -At as the superuser inside a Postgres container. */
  psql(container: string, sql: string, database?: string): string;
  /** Removes everything this run created (containers, volume, networks, folders). */
  cleanup(): void;
}

/** A Docker object created here, removed by cleanup. */
class Created {
  containers = new Set<string>();
  volumes = new Set<string>();
  networks = new Set<string>();
  cleanup(): void {
    for (const c of this.containers) run("docker", ["rm", "-f", c]);
    for (const v of this.volumes) run("docker", ["volume", "rm", "-f", v]);
    for (const n of this.networks) run("docker", ["network", "rm", n]);
  }
}

export function psqlIn(container: string, sql: string, database = "postgres", user = "postgres"): string {
  return docker(
    ["exec", "-i", container, "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", database],
    { input: sql },
  );
}

export async function waitForPostgres(container: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (run("docker", ["exec", container, "pg_isready", "-q", "-U", "postgres", "-d", "postgres"]).status !== 0) {
    if (Date.now() > deadline)
      throw new Error(
        `${container} did not accept connections: ${run("docker", ["logs", "--tail", "30", container]).stderr}`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Waits until an old API logged into PostgreSQL (its log line), or throws with its logs. */
export async function waitForLogin(container: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const logs = run("docker", ["logs", container]);
    if (logs.stdout.includes("Connected to PostgreSQL")) return;
    if (Date.now() > deadline)
      throw new Error(`${container} did not log into PostgreSQL: ${logs.stdout}${logs.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Builds today's VPS: network, compose volume, postgres_ems_system with its roles and rows, the APIs, Traefik/Portainer stand-ins, the ACME file and uploads. */
export async function buildTodaysVps(): Promise<TodaysVps> {
  const id = `${process.pid}${crypto.randomBytes(3).toString("hex")}`;
  const rename = (name: string) => `${name}-m${id}`;
  const created = new Created();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ems-vps-"));
  const hostPath = (p: string) => path.join(root, p);

  const network = rename("ems_system_net");
  docker(["network", "create", network]);
  created.networks.add(network);
  const volume = rename("postgres_ems_system_data");
  docker([
    "volume",
    "create",
    ...Object.entries(COMPOSE_VOLUME_LABELS).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    volume,
  ]);
  created.volumes.add(volume);

  const postgres = rename("postgres_ems_system");
  created.containers.add(postgres);
  docker([
    "run",
    "-d",
    "--name",
    postgres,
    "--restart",
    "always",
    "--network",
    network,
    "--mount",
    `type=volume,source=${volume},target=/var/lib/postgresql/data`,
    "-e",
    "POSTGRES_USER=postgres",
    "-e",
    `POSTGRES_PASSWORD=${crypto.randomBytes(9).toString("hex")}`,
    "-e",
    "POSTGRES_DB=postgres_admin",
    "--health-cmd",
    "pg_isready -U postgres -d postgres_admin",
    "--health-interval",
    "10s",
    IMAGES.postgres,
  ]);
  await waitForPostgres(postgres);
  for (const svc of ["ems", "sms"]) {
    psqlIn(postgres, PROVISION(svc, `old-${svc}-password-2025`));
    psqlIn(postgres, ROWS[svc], `${svc}_production`, `${svc}_user`);
  }
  // As compose runs it today: POSTGRES_PASSWORD interpolated from the undefined POSTGRES_PASS, i.e. empty.
  docker(["rm", "-f", postgres]);
  docker([
    "run",
    "-d",
    "--name",
    postgres,
    "--restart",
    "always",
    "--network",
    network,
    "--mount",
    `type=volume,source=${volume},target=/var/lib/postgresql/data`,
    "-e",
    "POSTGRES_USER=postgres",
    "-e",
    "POSTGRES_PASSWORD=",
    "-e",
    "POSTGRES_DB=postgres_admin",
    "--health-cmd",
    "pg_isready -U postgres -d postgres_admin",
    "--health-interval",
    "10s",
    IMAGES.postgres,
  ]);
  await waitForPostgres(postgres);

  const acmeFile = hostPath("/root/infra/letsencrypt/ems_system.json");
  fs.mkdirSync(path.dirname(acmeFile), { recursive: true });
  const acme = {
    ems_system_resolver: {
      Account: { Email: "admin@edumigsoft.com.br", PrivateKey: crypto.randomBytes(64).toString("base64") },
      Certificates: ["ems", "sms", "traefik", "portainer"].map((s) => ({
        domain: { main: `${s === "ems" || s === "sms" ? `api.${s}` : s}.edumigsoft.com.br` },
        certificate: crypto.randomBytes(900).toString("base64"),
        key: crypto.randomBytes(120).toString("base64"),
        Store: "default",
      })),
    },
  };
  fs.writeFileSync(acmeFile, JSON.stringify(acme, null, 2), { mode: 0o600 });

  const uploads: Record<string, string> = {};
  const apis: Record<string, string> = {};
  const apiKeys: Record<string, string> = {};
  const oldEnv: Record<string, Record<string, string>> = {};
  for (const [svc, image] of [
    ["ems", IMAGES.emsPg],
    ["sms", IMAGES.smsPg],
  ] as const) {
    // The bind-mounted host folder: the server never writes it (UPLOAD_PATH unset); an older file sits there.
    uploads[svc] = hostPath(`/root/ems_system/data/uploads/${svc}`);
    fs.mkdirSync(uploads[svc], { recursive: true });
    fs.writeFileSync(path.join(uploads[svc], "leia-me.txt"), `uploads de ${svc} (2025)\n`);
    apiKeys[svc] = crypto.randomBytes(16).toString("hex");
    apis[svc] = rename(`${svc}_server_prod`);
    created.containers.add(apis[svc]);
    // The old .env: DB_PASS / API_KEY / JWT_KEY as the compose env_file has them.
    const env = {
      JWT_KEY: crypto.randomBytes(24).toString("hex"),
      VERIFICATION_LINK_BASE_URL: `https://api.${svc}.edumigsoft.com.br/api/v1/auth/verify`,
      DB_HOST: postgres,
      DB_PORT: "5432",
      DB_USER: `${svc}_user`,
      DB_PASS: `old-${svc}-password-2025`,
      DB_NAME: `${svc}_production`,
      API_KEY: apiKeys[svc],
    };
    oldEnv[svc] = env;
    docker([
      "run",
      "-d",
      "--name",
      apis[svc],
      "--restart",
      "unless-stopped",
      "--network",
      network,
      "--label",
      `com.ems.service=${svc}`,
      "--label",
      "com.ems.environment=production",
      "--mount",
      `type=bind,source=${uploads[svc]},target=/app/uploads`,
      ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      image,
    ]);
  }
  await waitForLogin(apis.ems);
  await waitForLogin(apis.sms);
  // What the old EMS wrote into its own layer: /uploads/<yyyy>/<mm>/<file>.
  const layerUploads: Record<string, Buffer> = {
    "2026/03/foto aluno.png": crypto.randomBytes(70_000),
    "2026/03/contrato.pdf": crypto.randomBytes(3_000),
    "2026/04/caderno-1.pdf": crypto.randomBytes(12_345),
  };
  const layerDir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-layer-"));
  try {
    for (const [rel, bytes] of Object.entries(layerUploads)) {
      fs.mkdirSync(path.dirname(path.join(layerDir, "uploads", rel)), { recursive: true });
      fs.writeFileSync(path.join(layerDir, "uploads", rel), bytes);
    }
    const tar = execFileSync("tar", ["-C", layerDir, "--owner=0", "--group=0", "-cf", "-", "uploads"]);
    const r = spawnSync("docker", ["cp", "-", `${apis.ems}:/`], { input: tar, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`docker cp of the old uploads into ${apis.ems}: ${r.stderr}`);
  } finally {
    fs.rmSync(layerDir, { recursive: true, force: true });
  }
  for (const edge of ["traefik", "portainer"]) {
    const name = rename(edge);
    created.containers.add(name);
    docker([
      "run",
      "-d",
      "--name",
      name,
      "--restart",
      "always",
      "--network",
      network,
      // Like the real Traefik and Portainer, it exits on SIGTERM at once.
      "--entrypoint",
      "sh",
      IMAGES.postgres,
      "-c",
      "trap 'exit 0' TERM; while :; do sleep 1; done",
    ]);
  }
  const backupDir = hostPath("/root/ems_system/data/backups");
  fs.mkdirSync(backupDir, { recursive: true });
  // The old backup job (postgres README): dumps, then deletes every *.sql.gz older than 7 days under the folder.
  const backupScript = path.join(backupDir, "backup.sh");
  fs.writeFileSync(
    backupScript,
    `#!/bin/sh\nBACKUP_DIR=${backupDir}\nDATE=$(date +%Y%m%d_%H%M%S)\n` +
      `docker exec ${postgres} pg_dump -U postgres -d ems_production | gzip > "$BACKUP_DIR/ems_$DATE.sql.gz"\n` +
      `docker exec ${postgres} pg_dump -U postgres -d sms_production | gzip > "$BACKUP_DIR/sms_$DATE.sql.gz"\n` +
      `find "$BACKUP_DIR" -name "*.sql.gz" -mtime +7 -delete\n`,
    { mode: 0o755 },
  );
  const oldCronLine = "0 2 * * * /root/ems_system/data/backups/backup.sh >> /var/log/ems_backup.log 2>&1";
  const crontabFile = hostPath("/var/spool/cron/crontabs/root");
  fs.mkdirSync(path.dirname(crontabFile), { recursive: true });
  fs.writeFileSync(crontabFile, `MAILTO=""\n${oldCronLine}\n`, { mode: 0o600 });

  return {
    rename,
    root,
    hostPath,
    network,
    volume,
    postgres,
    apis,
    apiKeys,
    acmeFile,
    uploads,
    backupDir,
    layerUploads,
    oldEnv,
    crontabFile,
    oldCronLine,
    backupScript,
    psql: (container, sql, database) => psqlIn(container, sql, database),
    cleanup: () => {
      created.cleanup();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

// --- what the old system holds, for comparison ---------------------------------------------------------

/** Every row of both databases, their roles and grants, as one JSON-comparable value. */
export function databaseSnapshot(psql: (sql: string, db?: string) => string): Record<string, unknown> {
  const j = (sql: string, db?: string) => JSON.parse(psql(`SET TimeZone = 'UTC'; ${sql}`, db) || "null");
  const out: Record<string, unknown> = {
    roles: j(
      `SELECT json_agg(json_build_object('name', rolname, 'super', rolsuper, 'login', rolcanlogin, 'createdb', rolcreatedb) ORDER BY rolname) FROM pg_roles WHERE rolname !~ '^pg_'`,
    ),
    // The service role keeps CONNECT and CREATE on its database (what REVOKE ... FROM PUBLIC must not take away).
    databaseRights: j(
      `SELECT json_agg(json_build_object('db', d, 'role', r, 'connect', has_database_privilege(r, d, 'CONNECT'), 'create', has_database_privilege(r, d, 'CREATE')) ORDER BY d, r) FROM unnest(ARRAY['ems_production', 'sms_production']) d, unnest(ARRAY['ems_user', 'sms_user']) r WHERE left(d, 3) = left(r, 3)`,
    ),
  };
  for (const db of ["ems_production", "sms_production"]) {
    out[`${db}.tables`] = j(
      `SELECT json_agg(json_build_object('table', tablename, 'owner', tableowner) ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'`,
      db,
    );
    out[`${db}.grants`] = j(
      `SELECT json_agg(json_build_object('grantee', grantee, 'table', table_name, 'privilege', privilege_type) ORDER BY grantee, table_name, privilege_type) FROM information_schema.role_table_grants WHERE table_schema = 'public'`,
      db,
    );
    out[`${db}.defaultAcl`] = j(`SELECT json_agg(defaclacl::text ORDER BY defaclobjtype) FROM pg_default_acl`, db);
    const tables: string[] = j(
      `SELECT coalesce(json_agg(tablename ORDER BY tablename), '[]') FROM pg_tables WHERE schemaname = 'public'`,
      db,
    );
    for (const t of tables)
      out[`${db}.${t}`] = j(`SELECT coalesce(json_agg(t ORDER BY t::text), '[]') FROM public.${t} t`, db);
  }
  return out;
}

/** Relative path → sha256 of every file under a folder. */
export function folderHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

// --- the stack's containers on dockerd -------------------------------------------------------------------

/** Spec inputs this helper applies itself (docker cp, flags dockerRunArgs does not know yet). */
const HANDLED_HERE = ["uploads", "stopTimeout", "memorySwap", "entrypoints", "healthcheck"] as const;

export interface CreateOptions {
  rename: (name: string) => string;
  image: string;
  /** Host folder standing for `/` (bind sources are joined to it). */
  bindRoot: string;
  /** Extra network aliases on every network (the un-renamed container name, so DB_HOST resolves). */
  aliases?: string[];
}

/**
 * Creates and starts a container from the program's spec (docker.Container inputs as registered under the
 * mocks): dockerRunArgs for what it translates; entrypoint, stop timeout, memory swap here; uploads
 * copied in with `docker cp` before the start (as the provider uploads them before starting). An exec-form
 * healthcheck (no CLI form) is left out: the cut-over's own health gate is what the rehearsal checks.
 */
export function createFromSpec(spec: RecordedResource, options: CreateOptions): string {
  const inputs = plain<ContainerInputs>(spec.inputs);
  const rest = Object.fromEntries(
    Object.entries(inputs).filter(([k]) => !(HANDLED_HERE as readonly string[]).includes(k)),
  );
  const health = inputs.healthcheck;
  const probe = health?.tests ?? [];
  if (health && probe[0] === "CMD-SHELL") rest.healthcheck = health;
  const args = dockerRunArgs(rest, options.image, { rename: options.rename, bindRoot: options.bindRoot });
  const name = args[args.indexOf("--name") + 1];
  const extra: string[] = [];
  if (inputs.entrypoints) extra.push("--entrypoint", inputs.entrypoints[0]);
  if (inputs.stopTimeout !== undefined) extra.push("--stop-timeout", String(inputs.stopTimeout));
  if (inputs.memorySwap !== undefined) extra.push("--memory-swap", `${inputs.memorySwap}m`);
  if (health && probe[0] !== "CMD-SHELL") extra.push("--no-healthcheck");
  const networkAt = args.indexOf("--network");
  for (const a of options.aliases ?? []) if (networkAt !== -1) extra.push("--network-alias", a);
  // --entrypoint takes one word: the rest of `entrypoints` goes before the command.
  const imageAt = args.lastIndexOf(options.image);
  const command = [...(inputs.entrypoints?.slice(1) ?? []), ...args.slice(imageAt + 1)];
  for (const m of inputs.mounts ?? [])
    if (m.type === "bind") fs.mkdirSync(path.join(options.bindRoot, m.source ?? ""), { recursive: true });
  docker(["create", ...args.slice(0, imageAt), ...extra, options.image, ...command]);

  const networks = (inputs.networksAdvanced ?? []).slice(1);
  for (const n of networks)
    docker([
      "network",
      "connect",
      ...[...(n.aliases ?? []), ...(options.aliases ?? [])].flatMap((a) => ["--alias", a]),
      options.rename(n.name),
      name,
    ]);
  for (const u of inputs.uploads ?? []) copyUpload(name, u);
  docker(["start", name]);
  return name;
}

function copyUpload(
  container: string,
  upload: { file: string; content?: string; contentBase64?: string; executable?: boolean },
): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-upload-"));
  try {
    const local = path.join(dir, upload.file);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(
      local,
      upload.contentBase64 !== undefined ? Buffer.from(upload.contentBase64, "base64") : (upload.content ?? ""),
      { mode: upload.executable ? 0o755 : 0o644 },
    );
    const top = upload.file.replace(/^\//, "").split("/")[0];
    // docker cp of a tar stream: the parent folders come with it (the container is not running yet).
    const tar = execFileSync("tar", ["-C", dir, "--owner=0", "--group=0", "-cf", "-", top]);
    const r = spawnSync("docker", ["cp", "-", `${container}:/`], { input: tar, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`docker cp ${upload.file} into ${container}: ${r.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// --- the new Traefik's stand-in -------------------------------------------------------------------------

export interface TestProxy {
  port: number;
  /** Routes `host` to the container's address on its Traefik network and its label's port. */
  route(container: string): void;
  close(): Promise<void>;
}

/** The router rule host and backend port from a container's Traefik labels. */
function traefikRoute(labels: Record<string, string>): { host: string; port: number; network: string } {
  const rule = Object.entries(labels).find(([k]) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(k))?.[1] ?? "";
  const host = /Host\(`([^`]+)`\)/.exec(rule)?.[1];
  const port = Object.entries(labels).find(([k]) =>
    /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k),
  )?.[1];
  const network = labels["traefik.docker.network"];
  if (!host || !port || !network || labels["traefik.enable"] !== "true")
    throw new Error(`no Traefik route in labels ${JSON.stringify(labels)}`);
  return { host, port: Number(port), network };
}

/** An HTTPS proxy on 127.0.0.1 (self-signed) that forwards by Host to the routed containers, headers included. */
export async function startTestProxy(rename: (name: string) => string): Promise<TestProxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ems-proxy-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=test-proxy",
      "-keyout",
      path.join(dir, "k"),
      "-out",
      path.join(dir, "c"),
    ],
    { stdio: "ignore" },
  );
  const routes = new Map<string, { address: string; port: number }>();
  const server = https.createServer(
    { key: fs.readFileSync(path.join(dir, "k")), cert: fs.readFileSync(path.join(dir, "c")) },
    (req, res) => {
      const host = (req.headers.host ?? "").replace(/:\d+$/, "");
      const target = routes.get(host);
      if (!target) {
        res.writeHead(404).end("404 page not found\n");
        return;
      }
      const upstream = http.request(
        {
          host: target.address,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
          timeout: 5000,
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      upstream.on("error", () => res.writeHead(502).end("Bad Gateway\n"));
      req.pipe(upstream);
    },
  );
  fs.rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    route(container) {
      const info = JSON.parse(docker(["inspect", container]))[0];
      const { host, port: backend, network } = traefikRoute(info.Config.Labels);
      const address = info.NetworkSettings.Networks[rename(network)]?.IPAddress;
      if (!address) throw new Error(`${container} is not on the Traefik network ${rename(network)}`);
      routes.set(host, { address, port: backend });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

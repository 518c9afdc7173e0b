/**
 * `npm run bench:offsite [-- --mb N] [-- --rest]`: the off-site copy's cost, measured with the real offsite.sh and
 * restic. Builds a host with N MB of uploads (default 64, in 256 KiB-2 MiB files) and a run's dumps, then prints:
 *   - backup throughput (MB/s) of the first nightly run into an empty repository,
 *   - the bytes the second run adds when no upload changed (deduplication: the nightly cost grows with what
 *     changed, not with what exists), and after one new 1 MiB upload,
 *   - restore throughput (MB/s) of the whole snapshot into a fresh folder.
 * The repository is a local folder, or with --rest a `rclone serve restic` on loopback.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { offsiteEnvironment, startRestServer, systemFolders, writeUploads } from "../testkit/restic";

const SCRIPT = path.join(__dirname, "..", "components", "scripts", "offsite.sh");
const args = process.argv.slice(2);
const MB = args.includes("--mb") ? Number(args[args.indexOf("--mb") + 1]) : 64;
const REST = args.includes("--rest");

function run(env: NodeJS.ProcessEnv, argv: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync("sh", [SCRIPT, ...argv], { env: { ...process.env, ...env }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`offsite.sh ${argv.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ems-bench-offsite-"));
  const server = REST ? await startRestServer(path.join(work, "server")) : undefined;
  try {
    const f = systemFolders(path.join(work, "host"));
    let bytes = 0;
    for (let i = 0; bytes < MB * 1024 * 1024; i++) {
      const size = 256 * 1024 + crypto.randomInt(1792 * 1024);
      writeUploads(f.uploads.ems, { [`escola-${i % 20}/doc-${i}.pdf`]: crypto.randomBytes(size) });
      bytes += size;
    }
    const dump = (ts: string) => {
      fs.writeFileSync(path.join(f.backups, `ems_production_${ts}.dump`), crypto.randomBytes(2 * 1024 * 1024));
      fs.writeFileSync(path.join(f.backups, `ems_production_${ts}.rows`), "public.documents\t1000\n");
      fs.writeFileSync(path.join(f.backups, `globals_${ts}.sql`), "-- roles\n");
    };
    const secrets = path.join(work, "secrets");
    fs.mkdirSync(secrets, { mode: 0o700 });
    const repository = server?.url ?? path.join(work, "repo");
    const env = offsiteEnvironment(f, { repository, password: "bench-password-0123456789" }, secrets);
    const added = () => Number(fs.readFileSync(path.join(f.state, "last-backup"), "utf8").split("\t")[3]);
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

    dump("20261201T030000Z");
    const first = run(env, ["backup", "20261201T030000Z"]);
    const firstAdded = added();
    dump("20261202T030000Z");
    run(env, ["backup", "20261202T030000Z"]);
    const unchangedAdded = added();
    writeUploads(f.uploads.ems, { "nova/upload.pdf": crypto.randomBytes(1024 * 1024) });
    dump("20261203T030000Z");
    run(env, ["backup", "20261203T030000Z"]);
    const oneNewAdded = added();
    const restore = run(env, ["restore", "--only", "uploads", "--target", path.join(work, "restored")]);

    console.log(
      `off-site bench: ${mb(bytes)} MB of uploads, repository ${REST ? "rest: (rclone on loopback)" : "local folder"}`,
    );
    console.log(
      `  first backup:   ${(bytes / 1024 / 1024 / first).toFixed(1)} MB/s (${first.toFixed(1)} s, ${mb(firstAdded)} MB added)`,
    );
    console.log(`  second backup, uploads unchanged: ${mb(unchangedAdded)} MB added (the new 2 MB dump)`);
    console.log(`  third backup, one new 1 MB upload: ${mb(oneNewAdded)} MB added`);
    console.log(`  restore:        ${(bytes / 1024 / 1024 / restore).toFixed(1)} MB/s (${restore.toFixed(1)} s)`);
  } finally {
    server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

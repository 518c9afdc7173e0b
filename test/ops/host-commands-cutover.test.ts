/**
 * The host command lines of the pre-flight, the cut-over and its host checks (ops/hostCommands/preflight.ts,
 * cutover.ts, cutoverHostChecks.ts, credentials.ts, dataVolume.ts): the exact string for the real system's values,
 * and each passes shellcheck. test/migrate/commands.test.ts and the rehearsal run them against stand-ins and dockerd.
 */
import { spawnSync } from "child_process";
import { PREFLIGHT_COMMANDS as P } from "../../ops/hostCommands/preflight";
import { CUTOVER_COMMANDS as C } from "../../ops/hostCommands/cutover";
import { HOST_CHECK_COMMANDS as H } from "../../ops/hostCommands/cutoverHostChecks";
import { envValuePipe, inspectEnv } from "../../ops/hostCommands/credentials";
import { volumeHoldersCommand } from "../../ops/hostCommands/dataVolume";

/** name → [the command line, exactly what it must be]. */
const COMMANDS: Record<string, [string, string]> = {
  engine: [P.engine, "docker version --format '{{.Server.APIVersion}} {{.Server.Version}} {{.Server.Arch}}'"],
  containers: [P.containers, "docker ps -a --format '{{.Names}}\t{{.State}}'"],
  df: [
    P.df("/root/ems system/data/backups"),
    'd=\'/root/ems system/data/backups\'; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk -- "$d"',
  ],
  databaseBytes: [
    P.databaseBytes("postgres_ems_system", "postgres"),
    "docker exec postgres_ems_system psql -X -A -t -q -U postgres -d postgres -c 'SELECT coalesce(sum(pg_database_size(datname)), 0) FROM pg_database'",
  ],
  crontab: [P.crontab, "crontab -l 2>/dev/null || true"],
  dumpAll: [
    C.dumpAll(
      "postgres_ems_system",
      "postgres",
      "/root/ems_system/data/backups/cutover/cluster_20261201T195500Z.sql.gz",
    ),
    [
      "set -eu",
      "umask 077",
      "out=/root/ems_system/data/backups/cutover/cluster_20261201T195500Z.sql.gz",
      'tmp="$out.partial"',
      'mkdir -p "$(dirname "$out")"',
      'st=$( { { rc=0; docker exec postgres_ems_system pg_dumpall -U postgres || rc=$?; echo "$rc" >&3; } | gzip >"$tmp"; } 3>&1 )',
      'if [ "$st" != 0 ]; then rm -f "$tmp"; echo "pg_dumpall exited with $st" >&2; exit 1; fi',
      'if ! gzip -t "$tmp" || ! gzip -dc "$tmp" | tail -n 5 | grep -q \'PostgreSQL database cluster dump complete\'; then',
      '  rm -f "$tmp"; echo "the dump is incomplete" >&2; exit 1',
      "fi",
      'mv "$tmp" "$out"',
      "printf '%s bytes\\n' \"$(wc -c <\"$out\" | tr -d ' ')\"",
    ].join("\n"),
  ],
  copyAcme: [
    C.copyAcme("/root/infra/letsencrypt/acme.json", "/root/ems_system/data/backups/cutover/acme_20261201T195500Z.json"),
    [
      "set -eu",
      "from=/root/infra/letsencrypt/acme.json",
      "to=/root/ems_system/data/backups/cutover/acme_20261201T195500Z.json",
      'if [ ! -e "$from" ]; then echo absent; exit 0; fi',
      'mkdir -p "$(dirname "$to")"',
      'cp -p "$from" "$to"',
      'cmp "$from" "$to"',
      "echo copied",
    ].join("\n"),
  ],
  restartPolicy: [C.restartPolicy("traefik"), "docker inspect --format '{{.HostConfig.RestartPolicy.Name}}' traefik"],
  stop: [
    C.stop("postgres_ems_system", 60),
    "docker update --restart=no postgres_ems_system >/dev/null && docker stop -t 60 postgres_ems_system >/dev/null",
  ],
  kill: [
    C.kill("ems_server_prod"),
    "docker update --restart=no ems_server_prod >/dev/null && { docker kill ems_server_prod >/dev/null 2>&1 || [ \"$(docker inspect --format '{{.State.Running}}' ems_server_prod)\" = false ]; }",
  ],
  volumeHolders: [
    C.volumeHolders("postgres_ems_system_data"),
    "docker ps -a --filter volume=postgres_ems_system_data --format '{{.Names}}\\t{{.Label \"com.ems.system\"}}'",
  ],
  copyUploads: [
    C.copyUploads("ems_server_prod", "/uploads", "/root/ems_system/data/uploads/ems").command,
    "sh -s -- ems_server_prod /uploads /root/ems_system/data/uploads/ems",
  ],
  psqlStdin: [
    C.psqlStdin("ems_system-postgres", "postgres"),
    "docker exec -i ems_system-postgres psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres",
  ],
  runState: [
    C.runState("ems_server_prod"),
    "docker inspect --format '{{.State.Running}} {{.State.Restarting}} {{.RestartCount}}' ems_server_prod",
  ],
  sessions: [
    C.sessions("postgres_ems_system", "postgres"),
    "docker exec postgres_ems_system psql -X -A -t -q -U postgres -d postgres -c 'SELECT usename || '\"'\"' '\"'\"' || datname FROM pg_stat_activity WHERE usename IS NOT NULL AND datname IS NOT NULL'",
  ],
  rowCounts: [
    C.rowCounts("postgres_ems_system", "postgres"),
    [
      'docker exec postgres_ems_system sh -c \'dbs=$(psql -X -A -t -q -U "$1" -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate") || exit 1',
      "out=$(for db in $dbs; do",
      "  psql -X -A -t -q -F '\"'\"' '\"'\"' -U \"$1\" -d \"$db\" -c \"SELECT current_database() || '\"'\"'.'\"'\"' || schemaname || '\"'\"'.'\"'\"' || tablename, (xpath('\"'\"'/row/c/text()'\"'\"', query_to_xml(format('\"'\"'SELECT count(*) AS c FROM %I.%I'\"'\"', schemaname, tablename), false, true, '\"'\"''\"'\"')))[1]::text FROM pg_tables WHERE schemaname NOT IN ('\"'\"'pg_catalog'\"'\"', '\"'\"'information_schema'\"'\"')\" || exit 1",
      "done) || exit 1",
      "printf '\"'\"'%s\\n'\"'\"' \"$out\" | sort' sh postgres",
    ].join("\n"),
  ],
  writeJournal: [
    C.writeJournal("/root/ems_system/data/cutover/journal.json"),
    'set -eu; umask 077; f=/root/ems_system/data/cutover/journal.json; mkdir -p "$(dirname "$f")"; cat >"$f.tmp"; chmod 600 "$f.tmp"; mv "$f.tmp" "$f"',
  ],
  readJournal: [
    C.readJournal("/root/ems_system/data/cutover/journal.json"),
    'f=/root/ems_system/data/cutover/journal.json; [ ! -e "$f" ] || cat "$f"',
  ],
  removeJournal: [
    C.removeJournal("/root/ems_system/data/cutover/journal.json"),
    "rm -f /root/ems_system/data/cutover/journal.json",
  ],
  removeStopped: [C.removeStopped("ems_system-postgres"), "docker rm ems_system-postgres >/dev/null"],
  stopNew: [C.stopNew("ems_system-postgres"), "docker stop -t 30 ems_system-postgres >/dev/null"],
  start: [
    C.start("postgres_ems_system", "always"),
    "docker update --restart=always postgres_ems_system >/dev/null && docker start postgres_ems_system >/dev/null",
  ],
  waitPostgres: [
    C.waitPostgres("postgres_ems_system", "postgres", 60),
    'i=0; until docker exec postgres_ems_system pg_isready -q -U postgres -d postgres; do i=$((i + 1)); [ "$i" -lt 60 ] || exit 1; sleep 1; done',
  ],
  usingVolume: [
    C.usingVolume("postgres_ems_system_data"),
    "docker ps --filter volume=postgres_ems_system_data --format '{{.Names}}'",
  ],
  publishing: [C.publishing(443), "docker ps --filter publish=443 --format '{{.Names}}'"],
  withLabel: [
    C.withLabel("com.ems.environment=production"),
    "docker ps --filter label=com.ems.environment=production --format '{{.Names}}'",
  ],
  health: [
    C.health({
      host: "api.ems.edumigsoft.com.br",
      address: "127.0.0.1",
      port: 443,
      path: "/api/v1/health",
      insecure: false,
    }),
    "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --resolve api.ems.edumigsoft.com.br:443:127.0.0.1 -H @- https://api.ems.edumigsoft.com.br:443/api/v1/health",
  ],
  healthInsecure: [
    C.health({
      host: "api.ems.edumigsoft.com.br",
      address: "127.0.0.1",
      port: 8443,
      path: "/api/v1/health",
      insecure: true,
    }),
    "curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -k --resolve api.ems.edumigsoft.com.br:8443:127.0.0.1 -H @- https://api.ems.edumigsoft.com.br:8443/api/v1/health",
  ],
  writeCrontab: [C.writeCrontab, "crontab -"],
  containerId: [H.containerId("portainer"), "docker inspect --format '{{.Id}}' portainer"],
  portainerVersion: [
    H.portainerVersion("portainer"),
    'c=portainer; v=$(docker inspect --format \'{{index .Config.Labels "org.opencontainers.image.version"}}\' "$c" 2>/dev/null); if [ -n "$v" ] && [ "$v" != "<no value>" ]; then echo "$v"; exit 0; fi; ip=$(docker inspect --format \'{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}\' "$c" | cut -d\' \' -f1); [ -n "$ip" ] && curl -sS --max-time 5 "http://$ip:9000/api/status"',
  ],
  addresses: [H.addresses, "ip -o addr show | awk '{ split($4, a, \"/\"); print a[1] }'"],
  resolve: [
    H.resolve("api.ems.edumigsoft.com.br"),
    "getent ahosts api.ems.edumigsoft.com.br | awk '{ print $1 }' | sort -u || true",
  ],
  ipv6: [H.ipv6, "ip -6 -o addr show scope global | awk '{ print $4 }'"],
  acme: [H.acme("/root/infra/letsencrypt/acme.json"), 'f=/root/infra/letsencrypt/acme.json; [ ! -r "$f" ] || cat "$f"'],
  inspectEnv: [
    inspectEnv("ems_server_prod"),
    "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}{{json .Config.Labels}}' ems_server_prod",
  ],
  envValuePipe: [
    envValuePipe("ems_server_prod", "DB_PASS"),
    "docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ems_server_prod | sed -n 's/^DB_PASS=//p' | ",
  ],
  volumeHoldersAt: [
    volumeHoldersCommand("ems_system_pgdata_17", "ssh://root@203.0.113.10:22"),
    "docker -H ssh://root@203.0.113.10:22 ps -a --filter volume=ems_system_pgdata_17 --format '{{.Names}}\\t{{.Label \"com.ems.system\"}}'",
  ],
};

describe("pre-flight and cut-over host commands", () => {
  it.each(Object.entries(COMMANDS))("%s is exactly the expected line", (_name, [command, expected]) => {
    expect(command).toBe(expected);
  });

  // SC2016 is off: single-quoted scripts hold `$1`, `$d` and `$f` for the inner shell. envValuePipe is the head of a
  // pipe (the printed `pulumi config set` line follows it), so it is checked with a reader after it.
  it.each(Object.entries(COMMANDS))("%s passes shellcheck", (name, [command]) => {
    const r = spawnSync("shellcheck", ["-s", "sh", "-e", "SC2016", "-"], {
      input: `#!/bin/sh\n${command}${name === "envValuePipe" ? "cat" : ""}\n`,
      encoding: "utf8",
      timeout: 30_000,
    });
    if (r.error) throw r.error;
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});

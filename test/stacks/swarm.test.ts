/**
 * The prod stack on `platform: swarm`, under the Pulumi mocks: the services, secrets, configs and networks it
 * registers, with the real system's values; the cluster commands; and `platform: docker` registering no Swarm
 * object at all (every other stack test runs that platform unchanged).
 */
import * as fs from "fs";
import { EMS_RUN_BINARY, secretsEnvFile } from "../../components/probe";
import {
  committedConfig,
  isSecretEnvelope,
  plain,
  RecordedResource,
  runStack,
  StackRun,
  swarmProdConfig,
  T,
  TEST_SECRETS,
} from "../support";

const LOG_DRIVER = { name: "json-file", options: { "max-file": "3", "max-size": "10m" } };

let run: StackRun;
beforeAll(async () => {
  run = await runStack("prod", swarmProdConfig());
}, 60_000);

const service = (name: string) => plain<Record<string, any>>(run.get(T.service, name).inputs); // eslint-disable-line @typescript-eslint/no-explicit-any
const decoded = (r: RecordedResource) => Buffer.from(plain<string>(r.inputs.data), "base64");

describe("each API is a replicated service with the container's contract", () => {
  test("ems: 2 replicas, start-first rolling update rolled back on failure, ems-run probe, limits, on the uploads node", () => {
    const ems = service("ems");
    expect(ems.name).toBe("ems_system-ems");
    expect(ems.mode).toEqual({ replicated: { replicas: 2 } });
    expect(ems.updateConfig).toEqual({
      parallelism: 1,
      order: "start-first",
      failureAction: "rollback",
      monitor: "1m0s",
      delay: "0s",
    });
    expect(ems.rollbackConfig).toEqual({
      parallelism: 1,
      order: "start-first",
      failureAction: "pause",
      monitor: "1m0s",
      delay: "0s",
    });
    expect(ems.convergeConfig).toEqual({ delay: "5s", timeout: "12m" });
    const task = ems.taskSpec;
    expect(task.containerSpec.image).toMatch(/^ghcr\.io\/edumigsoft\/ems-server@sha256:[0-9a-f]{64}$/);
    expect(task.containerSpec.commands).toEqual(["/run/ems/ems-run"]);
    expect(task.containerSpec.args).toEqual(["/app/bin/server"]);
    expect(task.containerSpec.healthcheck).toEqual({
      tests: ["CMD", "/run/ems/ems-run", "--probe", "8181", "/api/v1/health", "--accept-rate-limited"],
      interval: "1m0s",
      timeout: "5s",
      startPeriod: "2m0s",
      retries: 3,
    });
    expect(task.containerSpec.mounts).toEqual([
      { type: "bind", source: "/root/ems_system/data/uploads/ems", target: "/app/uploads" },
      { type: "bind", source: "/root/ems_system/data/logs/ems", target: "/app/Documents/MeuAppDart/logs" },
    ]);
    expect(task.containerSpec.stopGracePeriod).toBe("30s");
    // No no-new-privileges on the Service API: no capability at all, and nothing writable but the mounts.
    expect(task.containerSpec.capDrops).toEqual(["ALL"]);
    expect(task.containerSpec.readOnly).toBe(true);
    expect(task.resources).toEqual({ limits: { memoryBytes: 512 * 1024 * 1024 } });
    expect(task.logDriver).toEqual(LOG_DRIVER);
    // Every task on the node holding the uploads folder (by default Postgres's node, 192.0.2.11).
    expect(task.placement).toEqual({ constraints: ["node.labels.ems.postgres==true"] });
    expect(service("sms").taskSpec.placement).toEqual({ constraints: ["node.labels.ems.postgres==true"] });
    expect(task.networksAdvanceds).toEqual([{ id: "traefik-network-id" }, { id: "postgres-network-id" }]);
  });

  test("the environment is the container's, with no credential; DB_HOST is the Postgres service", () => {
    expect(service("ems").taskSpec.containerSpec.env).toEqual({
      APP_VERSION: "1.2.1",
      DB_HOST: "ems_system-postgres",
      DB_NAME: "ems_production",
      DB_PORT: "5432",
      DB_USER: "ems_user",
      ENV: "production",
      ENVIRONMENT: "production",
      HOME: "/app",
      UPLOAD_PATH: "/app/uploads",
      VERIFICATION_LINK_BASE_URL: "https://api.ems.edumigsoft.com.br/api/v1/auth/verify",
    });
    const spec = JSON.stringify(plain(run.get(T.service, "ems").inputs.taskSpec));
    const apiKey = plain<Record<string, string>>(run.outputs.apiKeys).ems;
    expect(spec).not.toContain(apiKey);
    expect(spec).not.toMatch(/JWT_KEY|API_KEY|DB_PASS/);
  });

  test("Traefik labels on the service: the Swarm provider's network, lbswarm off, the router as today", () => {
    const labels = Object.fromEntries(
      (service("sms").labels as { label: string; value: string }[]).map((l) => [l.label, l.value]),
    );
    expect(labels).toEqual({
      "com.ems.environment": "production",
      "com.ems.service": "sms",
      "com.ems.system": "ems_system",
      "traefik.enable": "true",
      "traefik.swarm.network": "ems_system_proxy",
      "traefik.swarm.lbswarm": "false",
      "traefik.http.routers.ems-system-sms.rule": "Host(`api.sms.edumigsoft.com.br`)",
      "traefik.http.routers.ems-system-sms.entrypoints": "websecure",
      "traefik.http.routers.ems-system-sms.tls": "true",
      "traefik.http.routers.ems-system-sms.tls.certresolver": "ems_system_resolver",
      "traefik.http.routers.ems-system-sms.middlewares": "api-retry@file,security-headers@file,api-ratelimit@file",
      "traefik.http.routers.ems-system-sms.service": "ems-system-sms",
      "traefik.http.services.ems-system-sms.loadbalancer.server.port": "8080",
    });
  });

  test("credentials are a Swarm secret (a Pulumi secret, versioned by an HMAC), ems-run a Swarm config", () => {
    const secret = run.get(T.secret, "ems-secrets");
    expect(isSecretEnvelope(secret.inputs.data)).toBe(true);
    const file = decoded(secret).toString();
    expect(
      Object.keys(
        Object.fromEntries(
          file
            .trim()
            .split("\n")
            .map((l) => l.split("=", 2)),
        ),
      ),
    ).toEqual(["API_KEY", "DB_PASS", "JWT_KEY"]);
    expect(file).toContain(`API_KEY=${plain<Record<string, string>>(run.outputs.apiKeys).ems}\n`);
    expect(secret.inputs.name).toMatch(/^ems_system-ems-secrets-[0-9a-f]{12}$/);
    expect(secret.opts.additionalSecretOutputs).toContain("data");
    expect(service("ems").taskSpec.containerSpec.secrets).toEqual([
      { secretId: "ems-secrets-id", secretName: secret.inputs.name, fileName: "/run/ems/secrets.env", fileMode: 0o400 },
    ]);

    const config = run.get(T.serviceConfig, "ems-ems-run");
    expect(decoded(config).equals(fs.readFileSync(EMS_RUN_BINARY))).toBe(true);
    expect(config.inputs.name).toMatch(/^ems_system-ems-ems-run-[0-9a-f]{12}$/);
    expect(service("ems").taskSpec.containerSpec.configs).toEqual([
      { configId: "ems-ems-run-id", configName: config.inputs.name, fileName: "/run/ems/ems-run", fileMode: 0o555 },
    ]);
  });

  test("a rotated key gives the secret a new name, so the service rolls onto it", async () => {
    const before = run.get(T.secret, "sms-secrets").inputs.name;
    const rotated = await runStack(
      "prod",
      swarmProdConfig({ "ems-infra:serviceSecrets": JSON.stringify({ sms: { apiKey: "rotated-key-0123456789" } }) }),
      [...Object.keys(TEST_SECRETS), "ems-infra:serviceSecrets"],
    );
    const after = rotated.get(T.secret, "sms-secrets");
    expect(after.inputs.name).not.toBe(before);
    expect(decoded(after).toString()).toContain("API_KEY=rotated-key-0123456789\n");
    expect(rotated.get(T.secret, "ems-secrets").inputs.name).toBe(run.get(T.secret, "ems-secrets").inputs.name);
    expect(secretsEnvFile({ API_KEY: "x" })).toBe("API_KEY=x\n");
  }, 60_000);

  test("registry credentials reach every node's pull as a secret", () => {
    const auth = run.get(T.service, "ems").inputs.auth;
    expect(isSecretEnvelope(auth)).toBe(true);
    expect(plain(auth)).toEqual({
      serverAddress: "ghcr.io",
      username: "edumigsoft",
      password: TEST_SECRETS["ems-infra:ghcrToken"],
    });
  });
});

describe("the single-copy services and the networks", () => {
  test("Traefik: Swarm provider in its static config, pinned to the ACME manager, ports 80/443 in host mode", () => {
    const traefik = service("traefik");
    expect(traefik.name).toBe("ems_system-traefik");
    expect(traefik.mode).toEqual({ replicated: { replicas: 1 } });
    expect(traefik.taskSpec.placement).toEqual({ constraints: ["node.role==manager", "node.labels.ems.acme==true"] });
    expect(traefik.endpointSpec).toEqual({
      ports: [
        { targetPort: 80, publishedPort: 80, publishMode: "host" },
        { targetPort: 443, publishedPort: 443, publishMode: "host" },
      ],
    });
    expect(traefik.updateConfig.order).toBe("stop-first");
    const staticYaml = decoded(run.get(T.serviceConfig, "traefik-static")).toString();
    expect(staticYaml).toContain(
      "  swarm:\n    endpoint: unix:///var/run/docker.sock\n    exposedByDefault: false\n    network: ems_system_proxy\n",
    );
    expect(staticYaml).not.toContain("  docker:");
    expect(traefik.taskSpec.containerSpec.mounts).toEqual([
      { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
      { type: "bind", source: "/root/infra/traefik/dynamic", target: "/etc/traefik/dynamic", readOnly: true },
      { type: "bind", source: "/root/infra/letsencrypt", target: "/letsencrypt" },
    ]);
  });

  test("Postgres: one task pinned by its node label, the adopted volume, the bootstrap password as a secret", () => {
    const pg = service("postgres");
    expect(pg.name).toBe("ems_system-postgres");
    expect(pg.mode).toEqual({ replicated: { replicas: 1 } });
    expect(pg.taskSpec.placement).toEqual({ constraints: ["node.labels.ems.postgres==true"] });
    expect(pg.taskSpec.containerSpec.mounts).toEqual([
      { type: "volume", source: "postgres_ems_system_data", target: "/var/lib/postgresql/data" },
    ]);
    expect(pg.taskSpec.containerSpec.env).toEqual({
      POSTGRES_USER: "postgres",
      POSTGRES_PASSWORD_FILE: "/run/secrets/postgres-password",
      PGDATA: "/var/lib/postgresql/data",
    });
    expect(pg.updateConfig.order).toBe("stop-first");
    expect(isSecretEnvelope(run.get(T.secret, "postgres-bootstrap-password").inputs.data)).toBe(true);
  });

  test("the roles and databases are applied on the database node, in the running task", () => {
    const databases = plain<Record<string, string>>(run.get(T.localCommand, "postgres-databases").inputs);
    expect(databases.create).toContain("root@192.0.2.11");
    expect(databases.create).toContain("docker exec -i");
    expect(databases.create).toContain("label=com.docker.swarm.service.name=ems_system-postgres");
    expect(isSecretEnvelope(run.get(T.localCommand, "postgres-databases").inputs.stdin)).toBe(true);
  });

  test("the nightly backup job is installed on the database node, dumping from the task found by its label", () => {
    const schedule = plain<Record<string, string>>(run.get(T.localCommand, "backup-schedule").inputs);
    expect(schedule.create).toContain("root@192.0.2.11");
    const pgExec =
      'PG_EXEC="docker exec -i -e PGUSER=postgres $(docker ps -q --filter label=com.docker.swarm.service.name=ems_system-postgres | head -n 1 | grep . || echo no-running-task-of-ems_system-postgres-on-this-node)"';
    const cron =
      `0 3 * * * BACKUP_DIR=/root/ems_system/data/backups KEEP_DAILY=14 KEEP_WEEKLY=8 ${pgExec} ` +
      "/root/ems_system/data/bin/backup.sh >> /root/ems_system/data/logs/backup.log 2>&1 # ems-infra:ems_system-backup";
    expect(schedule.stdin).toContain(`printf '%s\\n' '${cron.replace(/'/g, `'"'"'`)}' >>`);
    expect(run.outputs.backupCommand).toBe(cron.slice("0 3 * * * ".length, cron.indexOf(" >> ")));
    expect(run.outputs.restoreCommand).toBe(`${pgExec} /root/ems_system/data/bin/restore.sh`);
    expect(run.outputs.backupDir).toBe("/root/ems_system/data/backups");
    expect(run.outputs.commandHost).toBe("root@192.0.2.11:22");
    // No credential in the job: the dumps run as the superuser through the task's own socket.
    for (const secret of Object.values(TEST_SECRETS)) expect(JSON.stringify(schedule)).not.toContain(secret);
    expect(run.ofType(T.localCommand).map((c) => c.name)).not.toContain("backup-offsite-credentials");
  });

  test("Portainer: the server pinned with its volume, its agent a global service", () => {
    expect(service("portainer-agent").mode).toEqual({ global: true });
    expect(service("portainer-agent").taskSpec.containerSpec.image).toBe("portainer/agent:2.27.3");
    expect(service("portainer").taskSpec.containerSpec.args).toEqual([
      "-H",
      "tcp://tasks.ems_system-portainer-agent:9001",
      "--tlsskipverify",
    ]);
    expect(service("portainer").taskSpec.placement).toEqual({ constraints: ["node.labels.ems.acme==true"] });
  });

  test("overlay networks: the proxy attachable, the database internal and encrypted", () => {
    expect(plain(run.get(T.network, "traefik-network").inputs)).toEqual({
      name: "ems_system_proxy",
      driver: "overlay",
      attachable: true,
    });
    expect(plain(run.get(T.network, "postgres-network").inputs)).toEqual({
      name: "ems_system_db",
      driver: "overlay",
      internal: true,
      options: { encrypted: "true" },
    });
  });

  test("the outputs name the services and the platform, for status, logs and exec", () => {
    expect(run.outputs.platform).toBe("swarm");
    expect(run.outputs.containers).toEqual({
      postgres: "ems_system-postgres",
      traefik: "ems_system-traefik",
      portainer: "ems_system-portainer",
      ems: "ems_system-ems",
      sms: "ems_system-sms",
    });
    expect(run.outputs.dockerHost).toBe("ssh://root@192.0.2.10:22");
  });
});

describe("the cluster from config", () => {
  const command = (name: string) => plain<Record<string, string>>(run.get(T.localCommand, name).inputs);

  test("init on the first manager; the others join with the token on standard input, kept secret and unlogged", () => {
    expect(command("swarm-init").create).toContain("root@192.0.2.10 'sh -s -- 192.0.2.10'");
    for (const node of ["192-0-2-11", "192-0-2-12"]) {
      const join = run.get(T.localCommand, `swarm-join-${node}`);
      expect(isSecretEnvelope(join.inputs.stdin)).toBe(true);
      expect(join.inputs.logging).toBe("none");
      expect(join.opts.additionalSecretOutputs).toEqual(["stdout", "stdin"]);
      expect(join.inputs.create).not.toMatch(/TOKEN/);
      expect(plain<string>(join.inputs.stdin)).toContain("MANAGER_ADDR=192.0.2.10:2377\n");
    }
    const tokens = run.get(T.localCommand, "swarm-tokens");
    expect(tokens.inputs.logging).toBe("none");
    expect(tokens.opts.additionalSecretOutputs).toEqual(["stdout", "stdin"]);
  });

  test("labels set on the manager; a node removed from config is drained there, then leaves, then is removed", () => {
    expect(command("swarm-label-192-0-2-11").create).toContain("root@192.0.2.10 'sh -s -- '");
    expect(command("swarm-label-192-0-2-11").create).toContain(" worker ems.postgres=true'");
    expect(command("swarm-label-192-0-2-11").delete).toContain("# drain.sh");
    expect(command("swarm-join-192-0-2-11").delete).toContain("root@192.0.2.11");
    expect(command("swarm-join-192-0-2-11").delete).toContain("# leave.sh");
    expect(command("swarm-remove-192-0-2-11").delete).toContain("# remove.sh");
    // Pulumi deletes dependents first: label (drain) depends on join (leave), which depends on remove.
    const deps = (name: string) =>
      (run.get(T.localCommand, name).opts.dependsOn as { __name?: string }[]).map((d) => (d as any).__name); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(deps("swarm-label-192-0-2-11")).toEqual(["swarm-join-192-0-2-11"]);
    expect(deps("swarm-join-192-0-2-11")).toEqual(["swarm-tokens", "swarm-remove-192-0-2-11"]);
  });
});

test("platform: docker registers no Swarm object (today's stacks)", async () => {
  for (const stack of ["prod", "dev"]) {
    const docker = await runStack(stack, { ...committedConfig(stack), ...(stack === "prod" ? TEST_SECRETS : {}) });
    expect([T.service, T.secret, T.serviceConfig].flatMap((t) => docker.ofType(t))).toEqual([]);
    expect(docker.outputs.platform).toBeUndefined();
  }
}, 60_000);

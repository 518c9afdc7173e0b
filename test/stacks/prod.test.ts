/**
 * The prod stack (Pulumi.prod.yaml) against the seed: the "Equivalência local ↔ VPS" table (column VPS), the
 * "Mapeamento de volumes nos composes de produção" table, and the folders of "Passo 1". One test per row.
 */
import * as YAML from "yaml";
import { parseStackConfig } from "../../stacks/config";
import { committedConfig, isSecretInput, labelMap, runStack, StackRun, T, TEST_SECRETS, unwrap } from "../support";
import {
  HOME,
  dynamicFiles,
  envOf,
  hostCommandOf,
  layoutFolders,
  mountAt,
  mountsOf,
  shellWords,
  unsecret,
  uploadedFile,
  withValue,
} from "./helpers";
import { systemInvariants, thirdServiceTest } from "./invariants";

const DATA = "/root/ems_system/data";
const prodConfig = (): Record<string, string> => ({ ...committedConfig("prod"), ...TEST_SECRETS });

let run: StackRun;
beforeAll(async () => {
  run = await runStack("prod", prodConfig());
});

describe("Equivalência local ↔ VPS, column VPS (prod stack)", () => {
  test("Repositório /root/ems_system/repo/: nothing is read from the clone; the system's folders sit beside it in /root/ems_system", () => {
    expect(run.config.paths.data).toBe(DATA);
    for (const c of run.ofType(T.container)) {
      for (const m of mountsOf(c)) expect(m.source.startsWith("/root/ems_system/repo")).toBe(false);
    }
    for (const folder of Object.keys(layoutFolders(run))) {
      expect(folder).toMatch(/^\/root\/(ems_system\/(data|\.secrets)|infra)(\/|$)/);
    }
  });

  test("Traefik config (docker-compose.prod.yml): Traefik prod with a Let's Encrypt ACME resolver", () => {
    const traefik = run.get(T.container, "traefik");
    const staticConfig = YAML.parse(uploadedFile(traefik, "/etc/traefik/traefik.yml"));
    expect(staticConfig.certificatesResolvers).toEqual({
      ems_system_resolver: {
        acme: {
          email: "admin@edumigsoft.com.br",
          storage: "/letsencrypt/ems_system.json",
          httpChallenge: { entryPoint: "web" },
        },
      },
    });
    expect(staticConfig.entryPoints.websecure.http.tls).toEqual({ certResolver: "ems_system_resolver" });
    const dynamic = YAML.parse(dynamicFiles(run)["tls.yml"]);
    expect(dynamic.tls.certificates).toBeUndefined();
    expect(mountsOf(traefik).map((m) => m.target)).not.toContain("/certs");
    expect(run.ofType("ems:infra:LocalCertificates")).toEqual([]);
  });

  test("TLS /root/infra/letsencrypt/ (Let's Encrypt ACME): the routers ask the resolver, its folder is created with mode 700", () => {
    for (const api of ["ems", "sms"]) {
      expect(labelMap(run.get(T.container, api))[`traefik.http.routers.ems-system-${api}.tls.certresolver`]).toBe(
        "ems_system_resolver",
      );
    }
    expect(layoutFolders(run)["/root/infra/letsencrypt"]).toBe("700");
  });

  test("PostgreSQL (idem): the same postgres image as the dev stack", () => {
    const dev = parseStackConfig("dev", committedConfig("dev"), new Set());
    expect(dev.postgres.image).toBe("postgres:17.6-alpine");
    expect(run.get(T.image, "postgres-image").inputs.name).toBe(dev.postgres.image);
    expect(run.get(T.container, "postgres").inputs.image).toMatch(/^postgres@sha256:[0-9a-f]{64}$/);
  });

  test("EMS compose (docker-compose.prod.yml): EMS answers on api.ems.edumigsoft.com.br with ENVIRONMENT=production", () => {
    const ems = run.get(T.container, "ems");
    expect(labelMap(ems)["traefik.http.routers.ems-system-ems.rule"]).toBe("Host(`api.ems.edumigsoft.com.br`)");
    expect(envOf(ems).ENVIRONMENT).toBe("production");
    expect(run.outputs.urls.ems).toBe("https://api.ems.edumigsoft.com.br");
  });

  test("SMS compose (docker-compose.prod.yml): SMS answers on api.sms.edumigsoft.com.br with ENVIRONMENT=production", () => {
    const sms = run.get(T.container, "sms");
    expect(labelMap(sms)["traefik.http.routers.ems-system-sms.rule"]).toBe("Host(`api.sms.edumigsoft.com.br`)");
    expect(envOf(sms).ENVIRONMENT).toBe("production");
    expect(run.outputs.urls.sms).toBe("https://api.sms.edumigsoft.com.br");
  });

  test.each([
    ["Uploads EMS", "ems", "/app/uploads", `${DATA}/uploads/ems`],
    ["Uploads SMS", "sms", "/app/uploads", `${DATA}/uploads/sms`],
    ["Logs EMS", "ems", "/app/Documents/MeuAppDart/logs", `${DATA}/logs/ems`],
    ["Logs SMS", "sms", "/app/Documents/MeuAppDart/logs", `${DATA}/logs/sms`],
  ])("%s: %s mounts %s from %s", (_row, service, target, source) => {
    expect(mountAt(run.get(T.container, service), target)).toEqual({ type: "bind", source, target });
    expect(Object.keys(layoutFolders(run))).toContain(source);
  });

  test("GHCR token (/root/ems_system/.secrets/github): the token is the docker provider's registryAuth for ghcr.io, user edumigsoft, as a secret; .secrets is mode 700", async () => {
    const provider = run.get(T.dockerProvider, "docker-provider");
    expect(await isSecretInput(provider.props.registryAuth)).toBe(true);
    const auth = await unwrap(provider.props.registryAuth);
    // Provider inputs reach the engine JSON-encoded.
    expect(typeof auth === "string" ? JSON.parse(auth) : auth).toEqual([
      { address: "ghcr.io", username: "edumigsoft", password: TEST_SECRETS["ems-infra:ghcrToken"] },
    ]);
    expect(layoutFolders(run)["/root/ems_system/.secrets"]).toBe("700");
  });
});

describe("Mapeamento de volumes nos composes de produção", () => {
  test("Traefik ACME: /root/infra/letsencrypt (hardcoded) holds the resolver's acme.json, whatever the services' paths", async () => {
    const acme = { type: "bind", source: "/root/infra/letsencrypt", target: "/letsencrypt" };
    expect(mountAt(run.get(T.container, "traefik"), "/letsencrypt")).toEqual(acme);
    let moved = prodConfig();
    for (const s of ["ems", "sms"]) {
      moved = withValue(moved, "services", [s, "uploadsHostPath"], `/srv/${s}/uploads`);
      moved = withValue(moved, "services", [s, "logsHostPath"], `/srv/${s}/logs`);
    }
    const other = await runStack("prod", moved);
    expect(mountAt(other.get(T.container, "traefik"), "/letsencrypt")).toEqual(acme);
    expect(layoutFolders(other)["/root/infra/letsencrypt"]).toBe("700");
  });

  test.each([
    ["EMS uploads", "ems", "uploadsHostPath", "/app/uploads", `${DATA}/uploads/ems`],
    ["EMS logs", "ems", "logsHostPath", "/app/Documents/MeuAppDart/logs", `${DATA}/logs/ems`],
    ["SMS uploads", "sms", "uploadsHostPath", "/app/uploads", `${DATA}/uploads/sms`],
    ["SMS logs", "sms", "logsHostPath", "/app/Documents/MeuAppDart/logs", `${DATA}/logs/sms`],
  ])(
    "%s: default %s, overridden per service by services.%s.%s (UPLOADS_HOST_PATH / LOGS_HOST_PATH)",
    async (_row, service, key, target, defaultSource) => {
      expect(mountAt(run.get(T.container, service), target).source).toBe(defaultSource);

      const override = `/srv/override/${service}-${key}`;
      const moved = await runStack("prod", withValue(prodConfig(), "services", [service, key], override));
      expect(mountAt(moved.get(T.container, service), target)).toEqual({ type: "bind", source: override, target });
      // The other service and the other folder stay where they were.
      const other = service === "ems" ? "sms" : "ems";
      expect(mountAt(moved.get(T.container, other), target).source).toBe(
        defaultSource.replace(/\/(ems|sms)$/, `/${other}`),
      );
      const otherTarget = target === "/app/uploads" ? "/app/Documents/MeuAppDart/logs" : "/app/uploads";
      expect(mountAt(moved.get(T.container, service), otherTarget)).toEqual(
        mountAt(run.get(T.container, service), otherTarget),
      );
      const folders = Object.keys(layoutFolders(moved));
      expect(folders).toContain(override);
      expect(folders).not.toContain(defaultSource);
    },
  );
});

describe("Passo 1 — Criar hierarquia definitiva", () => {
  test("the host layout creates every folder of Passo 1, .secrets (and letsencrypt) with mode 700", () => {
    expect(layoutFolders(run)).toEqual({
      "/root/infra/letsencrypt": "700",
      "/root/infra/traefik/dynamic": "700",
      "/root/ems_system/.secrets": "700",
      "/root/ems_system/data/uploads/ems": "",
      "/root/ems_system/data/uploads/sms": "",
      "/root/ems_system/data/logs/ems": "",
      "/root/ems_system/data/logs/sms": "",
      "/root/ems_system/data/backups": "",
    });
    expect(run.outputs.folders).toEqual(
      expect.arrayContaining(["/root/ems_system/.secrets", "/root/ems_system/data/backups"]),
    );
  });
});

describe("prod stack", () => {
  systemInvariants("prod", () => run);

  test("prod data is protected and retained on delete: the Postgres volume and the host folders' command", () => {
    for (const r of [run.get(T.volume, "postgres-data"), hostCommandOf(run, "host-layout-data-folders")]) {
      expect({ name: r.name, protect: r.opts.protect, retainOnDelete: r.opts.retainOnDelete }).toEqual({
        name: r.name,
        protect: true,
        retainOnDelete: true,
      });
    }
  });

  test("with ems-infra:ssh set, Docker is reached at ssh://root@<host>:22 and every host command runs over ssh, with the same verified host key", async () => {
    const remote = await runStack(
      "prod",
      withValue(prodConfig(), "ssh", [], { host: "vps.example", identityFile: "/home/ops/.ssh/ems_vps" }),
    );
    const provider = remote.get(T.dockerProvider, "docker-provider");
    expect(provider.inputs.host).toBe("ssh://root@vps.example:22");
    const sshOpts = [
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${HOME}/.ssh/known_hosts`,
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      "/home/ops/.ssh/ems_vps",
    ];
    expect(JSON.parse(provider.inputs.sshOpts)).toEqual(sshOpts);
    // Still local Commands (turning ssh on or off updates them, the protected layout is never replaced).
    expect(remote.ofType(T.remoteCommand).map((c) => c.name)).toEqual([]);
    const commands = remote.ofType(T.localCommand);
    expect(commands.map((c) => c.name).sort()).toEqual([
      "backup-schedule",
      "host-layout-data-folders",
      "postgres-databases",
      "traefik-dynamic-config",
    ]);
    for (const c of commands) {
      const words = shellWords(String(unsecret(c.inputs.create)));
      expect(words.slice(0, words.indexOf("--") + 2)).toEqual([
        "ssh",
        ...sshOpts,
        "-p",
        "22",
        "--",
        "root@vps.example",
      ]);
    }
  });

  thirdServiceTest("prod", prodConfig, "edumigsoft.com.br");
});

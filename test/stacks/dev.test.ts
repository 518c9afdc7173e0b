/**
 * The dev stack (Pulumi.dev.yaml) against the seed's "Equivalência local ↔ VPS" table, column "Local":
 * one test per row, with the seed's values. The home folder is the test machine's (`~` expands to it).
 */
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { parseStackConfig } from "../../stacks/config";
import { PROJECT_ROOT } from "../../stacks/load";
import {
  committedConfig,
  isSecretInput,
  labelMap,
  runStack,
  StackRun,
  T,
  TEST_SECRETS,
  unwrap,
  urnOf,
} from "../support";
import {
  dynamicFiles,
  envOf,
  hostCommandOf,
  layoutFolders,
  mountAt,
  mountsOf,
  shellWords,
  uploadedFile,
} from "./helpers";
import { systemInvariants, thirdServiceTest, typeOfUrn } from "./invariants";

// Pulumi.dev.yaml's paths are relative to the checkout: the same folders whoever runs the tests, from wherever.
const DEV_DATA = `${PROJECT_ROOT}/.dev-data`;
const CERTS = `${DEV_DATA}/certs`;

let run: StackRun;
beforeAll(async () => {
  run = await runStack("dev", committedConfig("dev"));
});

describe("Equivalência local ↔ VPS, column Local (dev stack)", () => {
  test("Repositório ~/Projects/Working/ems_system/: the dev data lives in .dev-data at the checkout's root", () => {
    expect(run.config.paths.data).toBe(DEV_DATA);
    expect(run.outputs.backupDir).toBe(`${DEV_DATA}/backups`);
    const folders = Object.keys(layoutFolders(run));
    expect(folders.length).toBeGreaterThan(0);
    for (const folder of folders) expect(folder.startsWith(`${DEV_DATA}/`)).toBe(true);
  });

  test("Traefik config (docker-compose.dev.yml): Traefik dev with mkcert, without ACME", () => {
    const traefik = run.get(T.container, "traefik");
    const staticConfig = YAML.parse(uploadedFile(traefik, "/etc/traefik/traefik.yml"));
    expect(staticConfig.certificatesResolvers).toBeUndefined();
    expect(staticConfig.entryPoints.websecure).toEqual({ address: ":443", http: { tls: {} } });
    expect(mountsOf(traefik).map((m) => m.target)).not.toContain("/letsencrypt");
    for (const api of ["ems", "sms"]) {
      const labels = labelMap(run.get(T.container, api));
      expect(labels[`traefik.http.routers.ems-system-${api}.tls`]).toBe("true");
      expect(Object.keys(labels).filter((l) => l.endsWith(".certresolver"))).toEqual([]);
    }
  });

  test("TLS servers/infra/certs/ (mkcert): local.pem and local-key.pem made in .dev-data/certs and served by Traefik", async () => {
    const traefik = run.get(T.container, "traefik");
    expect(mountAt(traefik, "/certs")).toEqual({ type: "bind", source: CERTS, target: "/certs", readOnly: true });
    const dynamic = YAML.parse(dynamicFiles(run)["tls.yml"]);
    const certificate = { certFile: "/certs/local.pem", keyFile: "/certs/local-key.pem" };
    expect(dynamic.tls.certificates).toEqual([certificate]);
    expect(dynamic.tls.stores.default.defaultCertificate).toEqual(certificate);

    const mkcert = hostCommandOf(run, "local-certs-mkcert");
    expect(mkcert.type).toBe(T.localCommand);
    expect(shellWords(mkcert.inputs.create)).toEqual([
      "sh",
      "-s",
      "--",
      CERTS,
      "api.ems.local",
      "api.sms.local",
      "traefik.local",
      "portainer.local",
    ]);
    expect(mkcert.inputs.stdin).toContain("local-key.pem");

    // Traefik starts once the certificate exists.
    const traefikComponent = run.get("ems:infra:Traefik", "traefik");
    const dependsOn = (
      await Promise.all(((traefikComponent.opts.dependsOn ?? []) as pulumi.Resource[]).map((r) => urnOf(r)))
    ).map(typeOfUrn);
    expect(dependsOn).toContain("ems:infra:LocalCertificates");
  });

  test("PostgreSQL (servers/containers/postgres/docker-compose.prod.yml, the same file in dev and prod): the same image as the prod stack", async () => {
    const prodRun = await runStack("prod", { ...committedConfig("prod"), ...TEST_SECRETS });
    const prod = parseStackConfig(
      "prod",
      { ...committedConfig("prod"), ...TEST_SECRETS },
      new Set(Object.keys(TEST_SECRETS)),
    );
    expect(prod.postgres.image).toBe("postgres:17.6-alpine");
    expect(run.config.postgres.image).toBe(prod.postgres.image);
    expect(run.get(T.image, "postgres-image").inputs.name).toBe(prod.postgres.image);
    expect(run.get(T.container, "postgres").inputs.image).toMatch(/^postgres@sha256:[0-9a-f]{64}$/);
    expect(run.get(T.container, "postgres").inputs.image).toBe(prodRun.get(T.container, "postgres").inputs.image);
  });

  test("EMS compose (docker-compose.dev.yml): EMS dev answers on api.ems.local with ENVIRONMENT=development", () => {
    const ems = run.get(T.container, "ems");
    expect(labelMap(ems)["traefik.http.routers.ems-system-ems.rule"]).toBe("Host(`api.ems.local`)");
    expect(envOf(ems).ENVIRONMENT).toBe("development");
    expect(run.outputs.urls.ems).toBe("https://api.ems.local");
  });

  test("SMS compose (docker-compose.dev.yml): SMS dev answers on api.sms.local with ENVIRONMENT=development", () => {
    const sms = run.get(T.container, "sms");
    expect(labelMap(sms)["traefik.http.routers.ems-system-sms.rule"]).toBe("Host(`api.sms.local`)");
    expect(envOf(sms).ENVIRONMENT).toBe("development");
    expect(run.outputs.urls.sms).toBe("https://api.sms.local");
  });

  test.each([
    ["Uploads EMS", "ems", "/app/uploads", `${DEV_DATA}/uploads/ems`],
    ["Uploads SMS", "sms", "/app/uploads", `${DEV_DATA}/uploads/sms`],
    ["Logs EMS", "ems", "/app/Documents/MeuAppDart/logs", `${DEV_DATA}/logs/ems`],
    ["Logs SMS", "sms", "/app/Documents/MeuAppDart/logs", `${DEV_DATA}/logs/sms`],
  ])("%s: .dev-data folder %s bind-mounted at %s, created by the host layout", (_row, service, target, source) => {
    expect(mountAt(run.get(T.container, service), target)).toEqual({ type: "bind", source, target });
    const other = service === "ems" ? "sms" : "ems";
    expect(mountsOf(run.get(T.container, other)).map((m) => m.source)).not.toContain(source);
    expect(Object.keys(layoutFolders(run))).toContain(source);
  });

  test("GHCR token ($GITHUB_TOKEN locally): dev needs no token in config; one set as a secret reaches the docker provider as a secret", async () => {
    const provider = run.get(T.dockerProvider, "docker-provider");
    expect(provider.inputs.registryAuth).toBeUndefined();

    const withToken = await runStack("dev", { ...committedConfig("dev"), ...TEST_SECRETS });
    const props = withToken.get(T.dockerProvider, "docker-provider").props;
    expect(await isSecretInput(props.registryAuth)).toBe(true);
    // Provider inputs reach the engine JSON-encoded.
    const auth = await unwrap(props.registryAuth);
    expect(typeof auth === "string" ? JSON.parse(auth) : auth).toEqual([
      { address: "ghcr.io", username: "edumigsoft", password: TEST_SECRETS["ems-infra:ghcrToken"] },
    ]);
  });
});

describe("dev stack", () => {
  systemInvariants("dev", () => run);

  test("dev protects nothing: no resource is protected or retained on delete", () => {
    const guarded = run.resources.filter((r) => r.opts.protect || r.opts.retainOnDelete).map((r) => r.name);
    expect(guarded).toEqual([]);
    expect(run.get(T.volume, "postgres-data").opts.protect).toBeFalsy();
    expect(hostCommandOf(run, "host-layout-data-folders").opts.protect).toBeFalsy();
  });

  test("dev runs its host commands on this machine, against the local Docker socket", () => {
    expect(run.ofType(T.remoteCommand)).toEqual([]);
    expect(run.get(T.dockerProvider, "docker-provider").inputs.host).toBeUndefined();
  });

  thirdServiceTest("dev", () => committedConfig("dev"), "local");
});

import type { ResourceValidationPolicy } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { evaluatePack, PolicyResource as RecordedResource } from "../support";
import { isPinnedImageRef, isPostgresImage, isTraefikImage, Secret } from "../../policy/lib";
import { containerHardening } from "../../policy/policies/containerHardening";
import { dockerSocketReadonly } from "../../policy/policies/dockerSocketReadonly";
import { imagePinned } from "../../policy/policies/imagePinned";
import { noPlaintextCredentials } from "../../policy/policies/noPlaintextCredentials";
import { onlyTraefikPublishesWeb } from "../../policy/policies/onlyTraefikPublishesWeb";
import { postgresNotPublished } from "../../policy/policies/postgresNotPublished";
import { isDataResource, prodDataProtected } from "../../policy/policies/prodDataProtected";
import { routersUseTls } from "../../policy/policies/routersUseTls";
import {
  api,
  container,
  DIGEST,
  labels,
  LOCAL_COMMAND,
  pgVolume,
  postgres,
  REMOTE_COMMAND,
  REMOTE_IMAGE,
  traefik,
  VOLUME,
} from "./fixtures";

function run(
  policy: ResourceValidationPolicy,
  resource: RecordedResource,
  stack = "dev",
  environment?: string,
): string[] {
  return evaluatePack([resource], stack, { only: [policy.name], environment });
}

describe("every policy", () => {
  it("is mandatory, named, described", () => {
    for (const p of [
      imagePinned,
      postgresNotPublished,
      onlyTraefikPublishesWeb,
      dockerSocketReadonly,
      routersUseTls,
      containerHardening,
      noPlaintextCredentials,
      prodDataProtected,
    ]) {
      expect(p.enforcementLevel).toBe("mandatory");
      expect(p.name).toMatch(/^[a-z-]+$/);
      expect(p.description.length).toBeGreaterThan(10);
    }
  });

  it("the whole pack passes a compliant deployment, in dev and in prod", () => {
    const all = [
      traefik(),
      api(),
      postgres(),
      pgVolume(),
      {
        type: LOCAL_COMMAND,
        name: "ems-data-folders",
        props: { create: "mkdir -p" },
        opts: { protect: true, retainOnDelete: true },
      },
    ];
    expect(evaluatePack(all, "dev")).toEqual([]);
    expect(evaluatePack(all, "prod")).toEqual([]);
  });
});

describe("image-pinned", () => {
  it.each([
    "postgres:16.6",
    `ghcr.io/edumigsoft/ems@${DIGEST}`,
    "traefik:v3.3.5",
    "ghcr.io/edumigsoft/sms:1.4.2",
    DIGEST,
    `postgres:16.6@${DIGEST}`,
    "docker.io/library/postgres:16.6-alpine",
  ])("accepts %s", (image) => {
    expect(isPinnedImageRef(image)).toBe(true);
    expect(run(imagePinned, container("c", { image }))).toEqual([]);
  });

  it.each([
    "traefik",
    "traefik:latest",
    "postgres:16",
    "traefik:v3",
    "postgres:alpine",
    `traefik:latest@${DIGEST}`,
    "ghcr.io/edumigsoft/ems@sha256:abc",
    "localhost:5000/ems",
  ])("rejects %s", (image) => {
    expect(isPinnedImageRef(image)).toBe(false);
  });

  it("reports an unpinned container image", () => {
    expect(run(imagePinned, container("traefik", { image: "traefik" }))).toEqual([
      '[image-pinned] traefik: Image "traefik" must be pinned to a release tag (e.g. postgres:16.6) or a sha256 digest, never latest.',
    ]);
  });

  it("checks a RemoteImage's name", () => {
    expect(run(imagePinned, { type: REMOTE_IMAGE, name: "traefik-image", props: { name: "traefik:v3.3.5" } })).toEqual(
      [],
    );
    expect(run(imagePinned, { type: REMOTE_IMAGE, name: "traefik-image", props: { name: "traefik:latest" } })).toEqual([
      '[image-pinned] traefik-image: Image "traefik:latest" must be pinned to a release tag (e.g. postgres:16.6) or a sha256 digest, never latest.',
    ]);
  });

  it("ignores other resource types", () => {
    expect(run(imagePinned, pgVolume())).toEqual([]);
  });
});

describe("postgres-not-published", () => {
  it("passes a Postgres container without ports", () => {
    expect(run(postgresNotPublished, postgres())).toEqual([]);
  });

  it("reports published ports, and publishAllPorts", () => {
    const msg =
      "[postgres-not-published] postgres: The Postgres container must not publish ports; it is reached over the internal Docker network.";
    expect(run(postgresNotPublished, postgres({ ports: [{ internal: 5432, external: 5432 }] }))).toEqual([msg]);
    expect(
      run(postgresNotPublished, postgres({ image: `docker.io/library/postgres@${DIGEST}`, publishAllPorts: true })),
    ).toEqual([msg]);
  });

  it("ignores non-Postgres containers", () => {
    expect(
      run(
        postgresNotPublished,
        container("redis", { image: "redis:7.4.1", ports: [{ internal: 6379, external: 6379 }] }),
      ),
    ).toEqual([]);
    expect(isPostgresImage("postgis/postgis:16-3.5")).toBe(true);
    expect(isPostgresImage("ghcr.io/edumigsoft/ems:1.0.0")).toBe(false);
  });
});

describe("only-traefik-publishes-web", () => {
  it("lets Traefik publish 80 and 443", () => {
    expect(run(onlyTraefikPublishesWeb, traefik())).toEqual([]);
    expect(run(onlyTraefikPublishesWeb, traefik({ image: `traefik@${DIGEST}` }))).toEqual([]);
  });

  it("reports any other container publishing 80 or 443", () => {
    const r = api({
      ports: [
        { internal: 8080, external: 443 },
        { internal: 8080, external: 80 },
        { internal: 9090, external: 9090 },
      ],
    });
    expect(run(onlyTraefikPublishesWeb, r)).toEqual([
      "[only-traefik-publishes-web] ems-api: Only the Traefik container may publish host port 443.",
      "[only-traefik-publishes-web] ems-api: Only the Traefik container may publish host port 80.",
    ]);
  });

  it("does not take an image merely named like traefik for Traefik", () => {
    expect(isTraefikImage("ghcr.io/evil/traefik:v3.3.5")).toBe(false);
    expect(isTraefikImage("docker.io/library/traefik:v3.3.5")).toBe(true);
  });
});

describe("docker-socket-readonly", () => {
  it("passes a read-only socket on Traefik (volumes or mounts)", () => {
    expect(run(dockerSocketReadonly, traefik())).toEqual([]);
    expect(
      run(
        dockerSocketReadonly,
        traefik({
          volumes: [],
          mounts: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
        }),
      ),
    ).toEqual([]);
  });

  it("reports a writable socket", () => {
    expect(
      run(
        dockerSocketReadonly,
        traefik({ volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }] }),
      ),
    ).toEqual(["[docker-socket-readonly] traefik: The Docker socket must be mounted read-only."]);
  });

  it("passes Portainer's read-only socket (it manages the host's Docker, as today), not a writable one", () => {
    const socket = { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" };
    const portainer = (readOnly: boolean) =>
      api({ image: "portainer/portainer-ce:2.27.3", mounts: [{ ...socket, readOnly }] });
    expect(run(dockerSocketReadonly, portainer(true))).toEqual([]);
    expect(run(dockerSocketReadonly, portainer(false))).toEqual([
      "[docker-socket-readonly] ems-api: The Docker socket must be mounted read-only.",
    ]);
  });

  it("reports the socket on any other container", () => {
    const r = api({
      mounts: [{ type: "bind", source: "/run/docker.sock", target: "/var/run/docker.sock", readOnly: false }],
    });
    expect(run(dockerSocketReadonly, r)).toEqual([
      "[docker-socket-readonly] ems-api: Only the Traefik and Portainer containers may mount the Docker socket.",
      "[docker-socket-readonly] ems-api: The Docker socket must be mounted read-only.",
    ]);
  });
});

describe("routers-use-tls", () => {
  it("passes websecure + tls=true routers (label keys case-insensitive)", () => {
    expect(run(routersUseTls, api())).toEqual([]);
    const r = api({
      labels: labels({
        "traefik.http.routers.Ems.rule": "Host(`x`)",
        "Traefik.HTTP.Routers.Ems.EntryPoints": "websecure",
        "traefik.http.routers.Ems.TLS": "True",
      }),
    });
    expect(run(routersUseTls, r)).toEqual([]);
  });

  it("reports a router on web, one without entrypoints, and one without tls", () => {
    const r = api({
      labels: labels({
        "traefik.http.routers.plain.rule": "Host(`a`)",
        "traefik.http.routers.plain.entrypoints": "web,websecure",
        "traefik.http.routers.plain.tls": "true",
        "traefik.http.routers.any.rule": "Host(`b`)",
        "traefik.http.routers.any.tls.certresolver": "le",
        "traefik.http.routers.notls.rule": "Host(`c`)",
        "traefik.http.routers.notls.entrypoints": "websecure",
        "traefik.http.services.ems.loadbalancer.server.port": "8080",
      }),
    });
    expect(run(routersUseTls, r)).toEqual([
      '[routers-use-tls] ems-api: Traefik router "plain" must use only the websecure entrypoint.',
      '[routers-use-tls] ems-api: Traefik router "any" must use only the websecure entrypoint.',
      '[routers-use-tls] ems-api: Traefik router "any" must set tls=true.',
      '[routers-use-tls] ems-api: Traefik router "notls" must set tls=true.',
    ]);
  });

  it("ignores containers without router labels", () => {
    expect(run(routersUseTls, postgres())).toEqual([]);
  });
});

describe("container-hardening", () => {
  it("passes a hardened container", () => {
    expect(run(containerHardening, postgres())).toEqual([]);
    expect(run(containerHardening, postgres({ logDriver: "local", securityOpts: ["no-new-privileges"] }))).toEqual([]);
  });

  it("reports every missing item of a bare container", () => {
    const bare: RecordedResource = {
      type: "docker:index/container:Container",
      name: "bare",
      props: { image: "nginx:1.27.3" },
    };
    expect(run(containerHardening, bare)).toEqual([
      '[container-hardening] bare: The container must set a restart policy other than "no".',
      "[container-hardening] bare: The container must define a healthcheck with tests.",
      "[container-hardening] bare: The container must log with the json-file or local driver and set the max-size and max-file log options.",
      '[container-hardening] bare: The container must set securityOpts "no-new-privileges:true".',
      "[container-hardening] bare: The container must set a memory limit.",
    ]);
  });

  it("reports half-done settings", () => {
    const r = postgres({
      restart: "no",
      healthcheck: { tests: ["NONE"] },
      logOpts: { "max-size": "10m" },
      securityOpts: ["no-new-privileges:false"],
      memory: 0,
    });
    expect(run(containerHardening, r)).toHaveLength(5);
  });
});

describe("no-plaintext-credentials", () => {
  it("passes secret credentials listed in additionalSecretOutputs, and non-credentials in plaintext", () => {
    expect(run(noPlaintextCredentials, api())).toEqual([]);
    expect(
      run(
        noPlaintextCredentials,
        postgres({ envs: ["POSTGRES_USER=ems", "POSTGRES_PASSWORD_FILE=/run/secrets/pg", "API_KEY="] }),
      ),
    ).toEqual([]);
    // The whole envs list as one secret (pulumi.secret([...]) / an all()-built list from secrets).
    expect(
      run(noPlaintextCredentials, postgres({ envs: new Secret(["POSTGRES_USER=ems", "POSTGRES_PASSWORD=x"]) })),
    ).toEqual([]);
  });

  it("reports a plaintext credential when secrets are visible (mock inputs)", () => {
    expect(
      run(
        noPlaintextCredentials,
        api({ envs: ["PORT=8080", "DATABASE_PASSWORD=changeme", new Secret("JWT_SECRET=abc")] }),
      ),
    ).toEqual([
      "[no-plaintext-credentials] ems-api: Environment variable DATABASE_PASSWORD has a plaintext value; build it from a Pulumi secret.",
    ]);
  });

  it("reports credentials of a container that does not list envs in additionalSecretOutputs", () => {
    expect(run(noPlaintextCredentials, api({}, []))).toEqual([
      '[no-plaintext-credentials] ems-api: Environment variable DATABASE_PASSWORD holds a credential, so the container must list "envs" in additionalSecretOutputs.',
      '[no-plaintext-credentials] ems-api: Environment variable JWT_SECRET holds a credential, so the container must list "envs" in additionalSecretOutputs.',
    ]);
  });

  it("behaves as in a real preview when secrets are not visible (the engine unwraps them)", () => {
    const plain = api({ envs: ["DATABASE_PASSWORD=from-a-secret-or-not"] });
    expect(evaluatePack([plain], "dev", { only: ["no-plaintext-credentials"], secretsVisible: false })).toEqual([]);
    const unlisted = api({ envs: ["DATABASE_PASSWORD=from-a-secret-or-not"] }, []);
    expect(evaluatePack([unlisted], "dev", { only: ["no-plaintext-credentials"], secretsVisible: false })).toEqual([
      '[no-plaintext-credentials] ems-api: Environment variable DATABASE_PASSWORD holds a credential, so the container must list "envs" in additionalSecretOutputs.',
    ]);
  });

  it("understands RPC-encoded secrets as setMocks records them", () => {
    const rpcSecret = (value: unknown) => ({
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value,
    });
    expect(run(noPlaintextCredentials, api({ envs: ["PORT=8080", rpcSecret("DATABASE_PASSWORD=x")] }))).toEqual([]);
    expect(run(noPlaintextCredentials, api({ envs: rpcSecret(["PORT=8080", "DATABASE_PASSWORD=x"]) }))).toEqual([]);
  });
});

describe("prod-data-protected", () => {
  const folders = (name: string, type = LOCAL_COMMAND, opts?: RecordedResource["opts"]): RecordedResource => ({
    type,
    name,
    props: { create: "mkdir -p /x" },
    opts,
  });

  it("identifies data resources by type and name", () => {
    expect(isDataResource({ type: VOLUME, name: "ems-pgdata" })).toBe(true);
    expect(isDataResource({ type: LOCAL_COMMAND, name: "ems-data-folders" })).toBe(true);
    expect(isDataResource({ type: REMOTE_COMMAND, name: "traefik-acme-folder" })).toBe(true);
    expect(isDataResource({ type: REMOTE_COMMAND, name: "ems-migrate" })).toBe(false);
    expect(isDataResource({ type: "docker:index/container:Container", name: "x-data-folders" })).toBe(false);
  });

  it("passes protected + retained data in prod", () => {
    expect(run(prodDataProtected, pgVolume(), "prod")).toEqual([]);
    expect(
      run(
        prodDataProtected,
        folders("traefik-acme-folder", REMOTE_COMMAND, { protect: true, retainOnDelete: true }),
        "prod",
      ),
    ).toEqual([]);
  });

  it("reports unprotected data in prod (by stack name or by environment)", () => {
    expect(run(prodDataProtected, pgVolume({}), "prod")).toEqual([
      "[prod-data-protected] ems-pgdata: Production data resources must set protect: true.",
      "[prod-data-protected] ems-pgdata: Production data resources must set retainOnDelete: true.",
    ]);
    expect(
      run(prodDataProtected, folders("ems-data-folders", REMOTE_COMMAND, { protect: true }), "live", "production"),
    ).toEqual(["[prod-data-protected] ems-data-folders: Production data resources must set retainOnDelete: true."]);
  });

  it("does not apply to dev, nor to other resources", () => {
    expect(run(prodDataProtected, pgVolume({}), "dev")).toEqual([]);
    expect(run(prodDataProtected, folders("ems-migrate", REMOTE_COMMAND), "prod")).toEqual([]);
  });

  it("checks only protect when retainOnDelete is not visible (real engine)", () => {
    const validate = prodDataProtected.validateResource as (a: unknown, r: (m: string) => void) => void;
    const messages: string[] = [];
    const engineArgs = {
      type: VOLUME,
      name: "ems-pgdata",
      urn: "urn:pulumi:prod::ems-infra::docker:index/volume:Volume::ems-pgdata",
      props: {},
      opts: {
        protect: true,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
      },
      stackTags: new Map(),
      isType: () => false,
      asType: () => undefined,
      getConfig: () => ({}),
      notApplicable: (reason?: string) => {
        throw new Error(reason);
      },
    };
    const spy = jest.spyOn(pulumi, "getStack").mockReturnValue("prod");
    try {
      validate(engineArgs, (m) => messages.push(m));
      expect(messages).toEqual([]);
      validate({ ...engineArgs, opts: { ...engineArgs.opts, protect: false } }, (m) => messages.push(m));
      expect(messages).toEqual(["Production data resources must set protect: true."]);
    } finally {
      spy.mockRestore();
    }
  });
});

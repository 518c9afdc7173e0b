/**
 * The Portainer component alone: pinned image, the socket, the adopted data volume, its admin set at creation from
 * a secret file, no route in prod (an SSH tunnel to the host's loopback) unless public behind an allow-list.
 */
import {
  PORTAINER_ADMIN_PASSWORD_PATH,
  PORTAINER_STATUS_PATH,
  Portainer,
  PortainerArgs,
} from "../../components/portainer";
import { emsRunBase64 } from "../../components/probe";
import {
  ComponentRun,
  isSecretInput,
  labelMap,
  labelsToDynamicConfig,
  plainInput,
  runComponents,
  T,
  unwrap,
  validateDynamic,
} from "../support";
import { mountAt, mountsOf } from "../stacks/helpers";

const ADMIN_PASSWORD = "portainer-Admin-Password-0123";
const PROD: PortainerArgs = {
  image: "portainer/portainer-ce:2.27.3",
  containerName: "infra_portainer",
  volumeName: "infra_portainer_data",
  host: "portainer.edumigsoft.com.br",
  network: "infra_portainer_net",
  adminPassword: ADMIN_PASSWORD,
  tunnelPort: 9000,
  certResolver: "ems_system_resolver",
  identity: { "com.ems.service": "portainer", "com.ems.environment": "production", "com.ems.system": "ems_system" },
  memoryMb: 256,
  protectData: true,
};
const DEV: PortainerArgs = {
  ...PROD,
  volumeName: "infra_portainer_data_dev",
  host: "portainer.local",
  public: { allowFrom: [] },
  certResolver: undefined,
  identity: { ...PROD.identity, "com.ems.environment": "development" },
  protectData: false,
};

let prod: ComponentRun<Portainer>;
let dev: ComponentRun<Portainer>;
let prodPublic: ComponentRun<Portainer>;
beforeAll(async () => {
  prod = await runComponents(() => new Portainer("portainer", PROD));
  dev = await runComponents(() => new Portainer("portainer", DEV));
  prodPublic = await runComponents(
    () => new Portainer("portainer", { ...PROD, public: { allowFrom: ["203.0.113.7/32", "2001:db8::/48"] } }),
  );
});

test("the pinned image, pulled once and kept, runs by digest under its fixed name", async () => {
  expect(prod.get(T.image, "portainer-image").inputs).toEqual({
    name: "portainer/portainer-ce:2.27.3",
    keepLocally: true,
  });
  const c = prod.get(T.container, "portainer");
  expect(c.inputs.image).toMatch(/^portainer\/portainer-ce@sha256:[0-9a-f]{64}$/);
  expect(c.inputs.name).toBe("infra_portainer");
  expect(await unwrap(prod.result.containerName)).toBe("infra_portainer");
  expect(await unwrap(prod.result.url)).toBe("http://localhost:9000");
  expect(await unwrap(prodPublic.result.url)).toBe("https://portainer.edumigsoft.com.br");
});

test("the Docker socket (Portainer administers Docker) and the data volume at /data; on its own network with Traefik", () => {
  const c = prod.get(T.container, "portainer");
  expect(mountAt(c, "/var/run/docker.sock")).toEqual({
    type: "bind",
    source: "/var/run/docker.sock",
    target: "/var/run/docker.sock",
    readOnly: true,
  });
  expect(mountAt(c, "/data")).toEqual({ type: "volume", source: "infra_portainer_data", target: "/data" });
  expect(mountsOf(c)).toHaveLength(2);
  expect(c.inputs.networksAdvanced).toEqual([{ name: "infra_portainer_net" }]);
});

test("its admin is set at creation from the password file, uploaded as a secret: nothing in the command, env or labels", async () => {
  const c = prod.get(T.container, "portainer");
  expect(c.inputs.command).toEqual(["--admin-password-file", PORTAINER_ADMIN_PASSWORD_PATH]);
  const uploads = plainInput<{ file: string; content?: string }[]>(c.inputs.uploads);
  expect(uploads.find((u) => u.file === PORTAINER_ADMIN_PASSWORD_PATH)?.content).toBe(ADMIN_PASSWORD);
  expect(await isSecretInput(c.props.uploads)).toBe(true);
  expect(JSON.stringify(c.inputs.uploads)).toContain("4dabf18193072939515e22adb298388d");
  expect(c.opts.additionalSecretOutputs).toEqual(expect.arrayContaining(["uploads"]));
  expect(c.inputs.envs).toBeUndefined();
  const visible = JSON.stringify({
    command: c.inputs.command,
    labels: c.inputs.labels,
    healthcheck: c.inputs.healthcheck,
  });
  expect(visible).not.toContain(ADMIN_PASSWORD);
});

test("prod by default: no router at all, published on the host's 127.0.0.1:9000 only (the SSH tunnel's end)", () => {
  const c = prod.get(T.container, "portainer");
  expect(c.inputs.ports).toEqual([{ internal: 9000, external: 9000, ip: "127.0.0.1", protocol: "tcp" }]);
  const labels = labelMap(c);
  expect(Object.keys(labels).filter((k) => k.startsWith("traefik."))).toEqual(["traefik.enable"]);
  expect(labels["traefik.enable"]).toBe("false");
});

test("the existing volume is adopted by name, compose's labels never read as a change; protectData protects and retains it", async () => {
  const volume = prod.get(T.volume, "portainer-data");
  expect(volume.inputs).toEqual({ name: "infra_portainer_data" });
  expect(volume.opts).toMatchObject({ protect: true, retainOnDelete: true });
  expect(volume.opts.ignoreChanges).toEqual(expect.arrayContaining(["labels", "driverOpts"]));
  expect(await unwrap(prod.result.volumeName)).toBe("infra_portainer_data");

  const devVolume = dev.get(T.volume, "portainer-data");
  expect(devVolume.inputs).toEqual({ name: "infra_portainer_data_dev" });
  expect(devVolume.opts.protect).toBeFalsy();
  expect(devVolume.opts.retainOnDelete).toBeFalsy();
  expect(dev.resources.filter((r) => r.opts.protect)).toEqual([]);
});

test("public: routed at portainer.<domain> over HTTPS to 9000 behind the IP allow-list, security headers and the login throttle; no host port", () => {
  const c = prodPublic.get(T.container, "portainer");
  expect(c.inputs.ports).toBeUndefined();
  const labels = labelMap(c);
  expect(labels).toEqual({
    "traefik.enable": "true",
    "traefik.docker.network": "infra_portainer_net",
    "traefik.http.routers.portainer.rule": "Host(`portainer.edumigsoft.com.br`)",
    "traefik.http.routers.portainer.entrypoints": "websecure",
    "traefik.http.routers.portainer.tls": "true",
    "traefik.http.routers.portainer.tls.certresolver": "ems_system_resolver",
    "traefik.http.routers.portainer.service": "portainer",
    "traefik.http.routers.portainer.middlewares": "portainer-allowlist,security-headers@file,admin-ratelimit@file",
    "traefik.http.middlewares.portainer-allowlist.ipallowlist.sourcerange": "203.0.113.7/32,2001:db8::/48",
    "traefik.http.services.portainer.loadbalancer.server.port": "9000",
    "com.ems.service": "portainer",
    "com.ems.environment": "production",
    "com.ems.system": "ems_system",
  });
  const traefikOnly = Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith("traefik.")));
  expect(validateDynamic(labelsToDynamicConfig(traefikOnly))).toEqual([]);
});

test("dev (public on the laptop's loopback): the .local host with the file certificate (no resolver), no allow-list", () => {
  const labels = labelMap(dev.get(T.container, "portainer"));
  expect(labels["traefik.http.routers.portainer.middlewares"]).toBe("security-headers@file,admin-ratelimit@file");
  expect(labels["traefik.http.routers.portainer.rule"]).toBe("Host(`portainer.local`)");
  expect(labels["traefik.http.routers.portainer.tls"]).toBe("true");
  expect(labels).not.toHaveProperty("traefik.http.routers.portainer.tls.certresolver");
});

test("one Portainer per volume: the old container stops before its replacement; rotation, limits and hardening as every container", () => {
  const c = prod.get(T.container, "portainer");
  expect(c.opts.deleteBeforeReplace).toBe(true);
  expect(c.opts.ignoreChanges).toEqual(["logOpts"]);
  expect(c.inputs).toMatchObject({
    memory: 256,
    memorySwap: 256,
    restart: "unless-stopped",
    securityOpts: ["no-new-privileges:true"],
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
  });
});

test("health: ems-run uploaded and run as an exec-form probe of Portainer's status on 9000, without a key (the image has no shell)", () => {
  const c = prod.get(T.container, "portainer");
  const uploads = plainInput<{ file: string; contentBase64?: string; executable?: boolean }[]>(c.inputs.uploads);
  expect(uploads[0]).toEqual({ file: "/run/ems/ems-run", contentBase64: emsRunBase64(), executable: true });
  expect(c.inputs.healthcheck.tests).toEqual([
    "CMD",
    "/run/ems/ems-run",
    "--probe",
    "9000",
    PORTAINER_STATUS_PATH,
    "--no-key",
  ]);
  expect(PORTAINER_STATUS_PATH).toBe("/api/system/status");
  expect(c.inputs.wait).toBe(true);
  expect(c.opts.replaceOnChanges).toEqual(["healthcheck"]);
});

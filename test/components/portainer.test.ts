/** The Portainer component alone: pinned image, read-only socket, the adopted data volume, its HTTPS route. */
import { PORTAINER_STATUS_PATH, Portainer, PortainerArgs } from "../../components/portainer";
import { emsRunBase64 } from "../../components/probe";
import {
  ComponentRun,
  labelMap,
  labelsToDynamicConfig,
  plainInput,
  runComponents,
  T,
  unwrap,
  validateDynamic,
} from "../support";
import { mountAt, mountsOf } from "../stacks/helpers";

const PROD: PortainerArgs = {
  image: "portainer/portainer-ce:2.27.3",
  containerName: "infra_portainer",
  volumeName: "infra_portainer_data",
  host: "portainer.edumigsoft.com.br",
  proxyNetwork: "ems_system_net",
  certResolver: "ems_system_resolver",
  identity: { "com.ems.service": "portainer", "com.ems.environment": "production", "com.ems.system": "ems_system" },
  memoryMb: 256,
  protectData: true,
};
const DEV: PortainerArgs = {
  ...PROD,
  volumeName: "infra_portainer_data_dev",
  host: "portainer.local",
  proxyNetwork: "ems_system_net",
  certResolver: undefined,
  identity: { ...PROD.identity, "com.ems.environment": "development" },
  protectData: false,
};

let prod: ComponentRun<Portainer>;
let dev: ComponentRun<Portainer>;
beforeAll(async () => {
  prod = await runComponents(() => new Portainer("portainer", PROD));
  dev = await runComponents(() => new Portainer("portainer", DEV));
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
  expect(await unwrap(prod.result.url)).toBe("https://portainer.edumigsoft.com.br");
});

test("the Docker socket is mounted read-only and the data volume at /data; no host port", () => {
  const c = prod.get(T.container, "portainer");
  expect(mountAt(c, "/var/run/docker.sock")).toEqual({
    type: "bind",
    source: "/var/run/docker.sock",
    target: "/var/run/docker.sock",
    readOnly: true,
  });
  expect(mountAt(c, "/data")).toEqual({ type: "volume", source: "infra_portainer_data", target: "/data" });
  expect(mountsOf(c)).toHaveLength(2);
  expect(c.inputs.ports).toBeUndefined();
  expect(c.inputs.networksAdvanced).toEqual([{ name: "ems_system_net" }]);
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

test("routed by Traefik at portainer.<domain> over HTTPS to port 9000, with its identity labels", () => {
  const labels = labelMap(prod.get(T.container, "portainer"));
  expect(labels).toEqual({
    "traefik.enable": "true",
    "traefik.docker.network": "ems_system_net",
    "traefik.http.routers.portainer.rule": "Host(`portainer.edumigsoft.com.br`)",
    "traefik.http.routers.portainer.entrypoints": "websecure",
    "traefik.http.routers.portainer.tls": "true",
    "traefik.http.routers.portainer.tls.certresolver": "ems_system_resolver",
    "traefik.http.routers.portainer.service": "portainer",
    "traefik.http.services.portainer.loadbalancer.server.port": "9000",
    "com.ems.service": "portainer",
    "com.ems.environment": "production",
    "com.ems.system": "ems_system",
  });
  const traefikOnly = Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith("traefik.")));
  expect(validateDynamic(labelsToDynamicConfig(traefikOnly))).toEqual([]);
});

test("dev: the .local host with the file certificate (no resolver)", () => {
  const labels = labelMap(dev.get(T.container, "portainer"));
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
  expect(uploads).toEqual([{ file: "/run/ems/ems-run", contentBase64: emsRunBase64(), executable: true }]);
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

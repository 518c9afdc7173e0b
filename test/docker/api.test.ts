/**
 * The EMS/SMS API containers exactly as the program specifies them (envs, labels, bind mounts, networks,
 * healthcheck, memory, security options, log rotation, restart policy), run on a real Docker engine with
 * only the image replaced by a local busybox httpd (ems-test/busybox-api:1, serving /www/health on the
 * service port; the -nohealth variant lacks /health).
 */
import { T } from "../support/stackHarness";
import {
  buildTestImages,
  describeWithDocker,
  docker,
  DockerScratch,
  dockerRunArgs,
  HealthState,
  IMAGES,
  inspect,
  nanoseconds,
  waitForHealth,
} from "../support/dockerEngine";
import { devSpecs, envs, labels } from "./specs";

describeWithDocker("API containers on a real Docker engine", () => {
  const scratch = new DockerScratch("api");
  const containers: Record<"ems" | "sms" | "broken", string> = { ems: "", sms: "", broken: "" };
  const specs: Record<"ems" | "sms", Record<string, any>> = { ems: {}, sms: {} };
  let dbNetwork = "";
  let proxyNetwork = "";
  let port = "";

  beforeAll(async () => {
    buildTestImages();
    const dev = await devSpecs();
    specs.ems = dev.inputs(T.container, "ems");
    specs.sms = dev.inputs(T.container, "sms");
    // The networks the API joins, as the program creates them (the Postgres one is internal).
    const [proxy, db] = (specs.ems.networksAdvanced as { name: string }[]).map((n) => n.name);
    proxyNetwork = scratch.network(dev.networkNamed(proxy));
    dbNetwork = scratch.network(dev.networkNamed(db));
    const bindRoot = scratch.dir("api-binds");

    // The image's httpd listens on the port Traefik is told to use.
    const httpd = (spec: Record<string, any>) => {
      const label = Object.entries(labels(spec)).find(([k]) => /^traefik\.http\.services\..*\.loadbalancer\.server\.port$/.test(k));
      if (!label) throw new Error("no loadbalancer port label");
      port = label[1];
      return ["busybox", "httpd", "-f", "-p", port, "-h", "/www"];
    };
    // The unhealthy one first: it needs the most time (start period, then `retries` failed probes).
    containers.broken = scratch.start(specs.ems, IMAGES.apiNoHealth, { name: `ems-broken-t${scratch.id}`, bindRoot, command: httpd(specs.ems) });
    containers.ems = scratch.start(specs.ems, IMAGES.api, { name: `ems-t${scratch.id}`, bindRoot, command: httpd(specs.ems) });
    containers.sms = scratch.start(specs.sms, IMAGES.api, { name: `sms-t${scratch.id}`, bindRoot, command: httpd(specs.sms) });
  }, 180_000);

  afterAll(() => scratch.cleanup(), 60_000);

  test("the spec translates fully into docker run arguments (only the image is replaced)", () => {
    const args = dockerRunArgs(specs.ems, IMAGES.api, { name: "x" });
    expect(args).toEqual(expect.arrayContaining(["--memory", `${specs.ems.memory}m`, "--security-opt", "no-new-privileges:true", "--log-driver", "json-file"]));
    expect(args).toContain(specs.ems.healthcheck.tests[1]);
    expect(args).not.toContain(specs.ems.image);
    expect(args[args.length - 1]).toBe(IMAGES.api);
  });

  test("the generated healthcheck command makes the EMS and SMS containers healthy", async () => {
    const [ems, sms] = await Promise.all([waitForHealth(containers.ems, "healthy", 60_000), waitForHealth(containers.sms, "healthy", 60_000)]);
    for (const [name, health, spec] of [[containers.ems, ems, specs.ems], [containers.sms, sms, specs.sms]] as [string, HealthState, Record<string, any>][]) {
      expect(health.Log.at(-1)?.ExitCode).toBe(0);
      const hc = inspect(name).Config.Healthcheck;
      expect(hc.Test).toEqual(spec.healthcheck.tests);
      expect(hc.Test[1]).toMatch(/^wget -q -O \/dev\/null http:\/\/127\.0\.0\.1:\d+\/health /);
      expect(hc.Interval).toBe(nanoseconds(spec.healthcheck.interval));
      expect(hc.Timeout).toBe(nanoseconds(spec.healthcheck.timeout));
      expect(hc.StartPeriod).toBe(nanoseconds(spec.healthcheck.startPeriod));
      expect(hc.Retries).toBe(spec.healthcheck.retries);
    }
  }, 70_000);

  test("it runs with no-new-privileges, the memory limit, json-file log rotation and the program's settings", () => {
    for (const [name, spec] of [[containers.ems, specs.ems], [containers.sms, specs.sms]] as [string, Record<string, any>][]) {
      const info = inspect(name);
      expect(info.HostConfig.SecurityOpt).toEqual(spec.securityOpts);
      expect(info.HostConfig.Memory).toBe(spec.memory * 1024 * 1024);
      expect(info.HostConfig.LogConfig).toEqual({ Type: spec.logDriver, Config: spec.logOpts });
      expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
      expect(info.HostConfig.RestartPolicy.Name).toBe(spec.restart);
      expect(info.HostConfig.PortBindings ?? {}).toEqual({});
      // The program's labels, beside the image's own (ems-test.build).
      const own = Object.fromEntries(Object.entries(info.Config.Labels).filter(([k]) => !k.startsWith("ems-test.")));
      expect(own).toEqual(labels(spec));
      expect(envs({ envs: info.Config.Env })).toEqual(expect.objectContaining(envs(spec)));
      expect(info.Mounts.map((m: any) => [m.Type, m.Destination]).sort()).toEqual(spec.mounts.map((m: any) => [m.type, m.target]).sort());
      expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([dbNetwork, proxyNetwork].sort());

      // In effect inside the container, not only recorded: the kernel's flag on PID 1 and the cgroup limit.
      expect(docker(["exec", name, "grep", "NoNewPrivs", "/proc/1/status"])).toMatch(/NoNewPrivs:\s+1/);
      const limit = docker(["exec", name, "sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"]);
      expect(Number(limit)).toBe(spec.memory * 1024 * 1024);
      // The writable bind mounts the API uses for uploads and logs.
      for (const m of spec.mounts) docker(["exec", name, "sh", "-c", `touch ${m.target}/.probe && rm ${m.target}/.probe`]);
    }
    expect(inspect(dbNetwork, "network").Internal).toBe(true);
    expect(inspect(proxyNetwork, "network").Internal).toBe(false);
  });

  test("without /health the same healthcheck turns the container unhealthy", async () => {
    const health = await waitForHealth(containers.broken, "unhealthy", 100_000);
    expect(health.FailingStreak).toBeGreaterThanOrEqual(specs.ems.healthcheck.retries);
    expect(health.Log.at(-1)?.ExitCode).toBe(1);
    // httpd is up: only the health path is missing.
    expect(docker(["exec", containers.broken, "wget", "-q", "-O", "-", `http://127.0.0.1:${port}/`])).toContain("busybox-api");
  }, 110_000);
});

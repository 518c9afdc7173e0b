/**
 * The socket proxy exactly as the dev stack specifies it (its generated haproxy configuration uploaded, the
 * real Docker socket mounted, its internal network, root without capabilities), created through the Engine API
 * on the real dockerd. Only the image is replaced: Debian's haproxy at the official image's paths
 * (test/support/images/socket-proxy-image.sh), since there is no registry here. A client container on the
 * proxy's network stands where Traefik stands.
 */
import YAML from "yaml";
import {
  check,
  describeWithDocker,
  docker,
  DockerScratch,
  inspect,
  matchesConstraint,
  plain,
  run,
  T,
} from "../support";
import { devSpecs, DevSpecs } from "./specs";
import * as path from "path";

const IMAGE = "ems-test/haproxy:debian";
const BUILD = path.join(__dirname, "..", "support", "images", "socket-proxy-image.sh");

describeWithDocker("socket proxy on the real dockerd", () => {
  const scratch = new DockerScratch("sp");
  let specs: DevSpecs;
  let network: string;
  let proxy: string;

  /** One HTTP request from a container on the proxy's network (Traefik's side); busybox wget's exit and output. */
  function fromTraefikSide(args: string[]): { status: number | null; stdout: string; stderr: string } {
    return run("docker", ["run", "--rm", "--network", network, "--entrypoint", "wget", IMAGE, ...args], {
      timeoutMs: 30_000,
    });
  }
  const url = (p: string) => `http://${proxy}:2375${p}`;

  beforeAll(async () => {
    check(run("bash", [BUILD], { timeoutMs: 120_000 }), BUILD);
    specs = await devSpecs();
    network = scratch.network(specs.networkNamed("infra_socket_proxy_net"));
    proxy = await scratch.create(specs.run.get(T.container, "socket-proxy").inputs, IMAGE);
    // haproxy is up when it answers.
    for (let i = 0; i < 40; i++) {
      if (fromTraefikSide(["-q", "-O", "-", url("/_ping")]).stdout === "OK") break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 120_000);
  afterAll(() => scratch.cleanup());

  test("the proxy's network is internal: no way out of it", () => {
    expect(inspect(network, "network").Internal).toBe(true);
    const members = Object.values(inspect(network, "network").Containers ?? {}).map(
      (c) => (c as { Name: string }).Name,
    );
    expect(members).toEqual([proxy]);
  });

  test("GET /containers/json (with or without an API version) works and lists the engine's containers", () => {
    for (const p of ["/containers/json", "/v1.41/containers/json"]) {
      const r = fromTraefikSide(["-q", "-O", "-", url(p)]);
      expect(r.status).toBe(0);
      const list = JSON.parse(r.stdout) as { Names: string[] }[];
      expect(list.map((c) => c.Names[0])).toContain(`/${proxy}`);
    }
    const id = inspect(proxy).Id as string;
    const one = fromTraefikSide(["-q", "-O", "-", url(`/containers/${id}/json`)]);
    expect(JSON.parse(one.stdout).Name).toBe(`/${proxy}`);
    expect(fromTraefikSide(["-q", "-O", "-", url("/version")]).status).toBe(0);
  });

  test("POST /containers/create (a privileged container mounting /) is refused with 403 and nothing is created", () => {
    const evil = scratch.rename("evil");
    const body = JSON.stringify({ Image: IMAGE, HostConfig: { Privileged: true, Binds: ["/:/host"] } });
    const r = fromTraefikSide([
      "-q",
      "-O",
      "-",
      "--header",
      "Content-Type: application/json",
      "--post-data",
      body,
      url(`/containers/create?name=${evil}`),
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/403/);
    expect(run("docker", ["container", "inspect", evil]).status).not.toBe(0);
  });

  test("reads Traefik has no use for are refused too: a container's files, logs, images, exec, the engine's info", () => {
    const id = inspect(proxy).Id as string;
    for (const p of [
      `/containers/${id}/archive?path=/usr/local/etc/haproxy`,
      `/containers/${id}/export`,
      `/containers/${id}/logs?stdout=1`,
      "/images/json",
      "/info",
      "/containers/../images/json",
      "/v1.41/secrets",
    ]) {
      const r = fromTraefikSide(["-q", "-O", "-", url(p)]);
      expect({ path: p, refused: r.status !== 0 && /403/.test(r.stderr) }).toEqual({ path: p, refused: true });
    }
  });

  test("Traefik's constraint from the generated static config picks our containers and not a stranger's with a longer rule for our host", () => {
    const traefikUploads = plain<{ file: string; content?: string }[]>(
      specs.run.get(T.container, "traefik").inputs.uploads,
    );
    const staticConfig = YAML.parse(traefikUploads.find((u) => u.file === "/etc/traefik/traefik.yml")!.content!);
    const constraint: string = staticConfig.providers.docker.constraints;
    expect(staticConfig.providers.docker.endpoint).toBe("tcp://infra_socket_proxy:2375");

    const ours = scratch.track(scratch.rename("ours"));
    const stranger = scratch.track(scratch.rename("stranger"));
    const apiLabels = labelsOf(specs.run.get(T.container, "ems").inputs);
    const host = /Host\(`([^`]+)`\)/.exec(Object.values(apiLabels).find((v) => v.startsWith("Host("))!)![1];
    const sleeper = (name: string, labels: Record<string, string>) =>
      docker([
        "run",
        "-d",
        "--name",
        name,
        ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
        "--entrypoint",
        "/bin/sh",
        IMAGE,
        "-c",
        "exec /bin/busybox sleep 300",
      ]);
    sleeper(ours, apiLabels);
    sleeper(stranger, {
      "traefik.enable": "true",
      "traefik.http.routers.capture.rule": `Host(\`${host}\`) && PathPrefix(\`/\`)`,
      "traefik.http.routers.capture.entrypoints": "websecure",
      "traefik.http.services.capture.loadbalancer.server.port": "8181",
    });

    const list = JSON.parse(fromTraefikSide(["-q", "-O", "-", url("/containers/json")]).stdout) as {
      Names: string[];
      Labels: Record<string, string>;
    }[];
    const seen = (name: string) => list.find((c) => c.Names.includes(`/${name}`));
    // The proxy lists both: the constraint, not the proxy, keeps the stranger out.
    expect(seen(ours)).toBeDefined();
    expect(seen(stranger)).toBeDefined();
    expect(matchesConstraint(constraint, seen(ours)!.Labels)).toBe(true);
    expect(matchesConstraint(constraint, seen(stranger)!.Labels)).toBe(false);
  });
});

function labelsOf(inputs: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(plain<{ label: string; value: string }[]>(inputs.labels).map((l) => [l.label, l.value]));
}

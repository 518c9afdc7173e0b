/**
 * `npm run doctor -- --stack dev` against fake laptops: stub tools on PATH (docker, pulumi, mkcert, openssl, npm,
 * crontab) in a temp folder, names resolved from a temp hosts file, a real listener on a free port standing for
 * 80/443. One line per check with its fix, exit 1 exactly when a FAIL line would make the deploy fail; deploy stops
 * on the same lines. Then once on this machine for real: it reports what is missing here without throwing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { deploy } from "../../ops/commands/deploy";
import { doctor as doctorCommand } from "../../ops/commands/doctor";
import { checkBeforeDeploy, doctor as runDoctor } from "../../ops/doctor";
import { DoctorHost, isListening } from "../../ops/doctorChecks";
import { REPO_ROOT } from "../../ops/runner/context";
import { Io } from "../../ops/runner/io";
import { fakeDeps, fakeIo, FakeStack } from "../support";

const deployMain = deploy.main;

const HOSTS = ["api.ems.local", "api.sms.local", "traefik.local", "portainer.local"];
const GOOD_ENGINE = "1.52 29.1.3 amd64";

interface Laptop {
  /** Stub tools by name: the shell body of each (absent: not installed). */
  tools: Record<string, string>;
  env: NodeJS.ProcessEnv;
  hosts: string;
  nodeVersion: string;
  /** Ports that have a listener (a real one, on a free port of this machine). */
  held: Set<"80" | "443">;
}

let dir: string;
let project: string;
let listener: net.Server;
let heldPort: number;
let freePort: number;

beforeAll(async () => {
  listener = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  heldPort = (listener.address() as net.AddressInfo).port;
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  freePort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(() => listener.close());

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-"));
  // The committed dev stack file alone: the developer's Pulumi.dev.local.yaml is never read by the tests.
  project = path.join(dir, "project");
  fs.mkdirSync(project);
  fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), path.join(project, "Pulumi.dev.yaml"));
  fs.mkdirSync(path.join(dir, "caroot"));
  fs.writeFileSync(path.join(dir, "caroot", "rootCA.pem"), "-----BEGIN CERTIFICATE-----\n");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A laptop ready for the first deploy. */
function readyLaptop(): Laptop {
  return {
    tools: {
      npm: 'echo "10.8.2"',
      docker: [
        'case "$1" in',
        `  version) echo "${GOOD_ENGINE}" ;;`,
        '  image) [ "$5" = ems-server:latest ] || [ "$5" = sms-server:latest ] || { echo "Error: No such image: $5" >&2; exit 1; }; echo "sha256:0123456789abcdef0123" ;;',
        '  ps) [ "$3" = "publish=80" ] && echo infra_traefik ;;',
        "  *) exit 99 ;;",
        "esac",
      ].join("\n"),
      pulumi: 'echo "v3.248.0"',
      mkcert: `[ "$1" = -CAROOT ] && echo "${dir}/caroot"`,
      openssl: 'echo "$2: OK"',
      crontab: 'echo "0 * * * * /usr/bin/true"',
    },
    env: { PULUMI_CONFIG_PASSPHRASE: "dev-passphrase", HOME: path.join(dir, "home") },
    hosts: `127.0.0.1 localhost\n127.0.0.1 ${HOSTS.join(" ")}\n`,
    nodeVersion: "v20.19.0",
    held: new Set(),
  };
}

/** The DoctorHost of a fake laptop: its tools are the only ones on PATH. */
function hostOf(laptop: Laptop): DoctorHost {
  const bin = path.join(dir, "bin");
  fs.rmSync(bin, { recursive: true, force: true });
  fs.mkdirSync(bin);
  for (const [tool, body] of Object.entries(laptop.tools))
    fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "hosts"), laptop.hosts);
  const ports = { 80: laptop.held.has("80") ? heldPort : freePort, 443: laptop.held.has("443") ? heldPort : freePort };
  return {
    run(tool, args) {
      const r = spawnSync(tool, args, { encoding: "utf8", env: { PATH: bin } });
      if (r.error) return { status: null, stdout: "", stderr: r.error.message };
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    env: laptop.env,
    nodeVersion: laptop.nodeVersion,
    async resolve(name) {
      const lines = fs.readFileSync(path.join(dir, "hosts"), "utf8").split("\n");
      return lines.filter((l) => l.split(/\s+/).slice(1).includes(name)).map((l) => l.split(/\s+/)[0]);
    },
    // The machine's 80/443 stand for the free port or the held one; docker ps is asked about 80/443 by the stub.
    listening: (port) => isListening(ports[port as 80 | 443]),
    ports: [80, 443],
    user: "ana",
    fileExists: (p) => fs.existsSync(p) && fs.statSync(p).size > 0,
  };
}

async function doctor(laptop: Laptop): Promise<{ code: number; lines: string[]; stderr: string }> {
  const io = fakeIo();
  const code = await runDoctor("dev", io, project, hostOf(laptop));
  return { code, lines: io.stdout.split("\n").filter(Boolean), stderr: io.stderr };
}

/** The one line of a check, by its name. */
function lineOf(lines: string[], name: string): string {
  const hits = lines.filter((l) => l.slice(5).startsWith(`${name}: `));
  if (hits.length !== 1) throw new Error(`expected one line for ${name}, got:\n${lines.join("\n")}`);
  return hits[0];
}

describe("npm run doctor -- --stack dev on a fake laptop", () => {
  test("a ready laptop: every check on its line, exit 0 and the command to run next", async () => {
    const { code, lines, stderr } = await doctor(readyLaptop());
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(lines).toEqual([
      "ok   Node.js: v20.19.0",
      "ok   npm: 10.8.2",
      "ok   Docker engine: Docker Engine 29.1.3, API 1.52, amd64",
      "ok   Traefik ↔ Docker: traefik:v3.6.1 can talk to Docker Engine 29.1.3 (API 1.52)",
      "ok   Pulumi CLI: v3.248.0",
      "ok   passphrase: PULUMI_CONFIG_PASSPHRASE is set",
      `ok   mkcert: installed, CA folder ${dir}/caroot`,
      "ok   mkcert CA: trusted by the system",
      ...HOSTS.map((h) => `ok   name ${h}: resolves to 127.0.0.1`),
      "ok   port 80: free",
      "ok   port 443: free",
      "ok   image ems-server:latest: present (sha256:0123456789ab)",
      "ok   image sms-server:latest: present (sha256:0123456789ab)",
      "ok   crontab: the dev deploy adds one line (the 0 3 * * * backup, marked # ems-infra:ems_system-backup) to ana's crontab; npm run down removes it (1 entry there now)",
      "ready to deploy: npm run deploy -- --stack dev",
    ]);
  });

  // Each row: what is wrong on the laptop, the line doctor prints, and how many FAIL lines (any: the deploy would fail, exit 1).
  // Without Docker the two images cannot be checked either: three FAIL lines.
  const cases: Array<[string, (l: Laptop) => void, string, string, 0 | 1 | 3]> = [
    [
      "Node 18",
      (l) => (l.nodeVersion = "v18.20.4"),
      "Node.js",
      "FAIL Node.js: v18.20.4 is too old — fix: install Node.js 20 or later",
      1,
    ],
    ["no npm", (l) => delete l.tools.npm, "npm", "FAIL npm: not found on PATH — fix: install npm", 1],
    [
      "no docker",
      (l) => delete l.tools.docker,
      "Docker engine",
      "FAIL Docker engine: the docker command is not installed — fix: install Docker Engine or Docker Desktop",
      3,
    ],
    [
      "docker not started",
      (l) =>
        (l.tools.docker =
          'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1'),
      "Docker engine",
      "FAIL Docker engine: not reachable: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running? — fix: start Docker",
      3,
    ],
    [
      "not in the docker group",
      (l) =>
        (l.tools.docker =
          'echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock" >&2; exit 1'),
      "Docker engine",
      "FAIL Docker engine: not reachable: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock — fix: join the docker group (sudo usermod -aG docker $USER, then log in again)",
      3,
    ],
    [
      "an Apple Silicon engine",
      (l) => (l.tools.docker = l.tools.docker.replace(GOOD_ENGINE, "1.47 27.4.0 arm64")),
      "Docker engine",
      "FAIL Docker engine: Docker Engine 27.4.0 runs on arm64, and ems-run",
      1,
    ],
    [
      "no Pulumi CLI",
      (l) => delete l.tools.pulumi,
      "Pulumi CLI",
      "FAIL Pulumi CLI: not found on PATH — fix: curl -fsSL https://get.pulumi.com | sh",
      1,
    ],
    [
      "no passphrase",
      (l) => (l.env = { HOME: "/home/ana" }),
      "passphrase",
      "FAIL passphrase: PULUMI_CONFIG_PASSPHRASE is not set (it encrypts the stack's secrets) — fix: export PULUMI_CONFIG_PASSPHRASE=",
      1,
    ],
    [
      "no mkcert",
      (l) => delete l.tools.mkcert,
      "mkcert",
      "FAIL mkcert: not found on PATH (the dev deploy runs it to make the .local certificate) — fix: apt install mkcert (or brew install mkcert), then mkcert -install",
      1,
    ],
    [
      "mkcert -install never run",
      () => fs.rmSync(path.join(dir, "caroot", "rootCA.pem")),
      "mkcert CA",
      "WARN mkcert CA: no CA in",
      0,
    ],
    [
      "a CA the system does not trust",
      (l) => (l.tools.openssl = 'echo "error 18 at 0 depth lookup: self-signed certificate" >&2; exit 2'),
      "mkcert CA",
      "WARN mkcert CA: not trusted by the system — fix: mkcert -install",
      0,
    ],
    [
      "a name missing from /etc/hosts",
      (l) => (l.hosts = "127.0.0.1 localhost api.ems.local api.sms.local portainer.local\n"),
      "name traefik.local",
      "WARN name traefik.local: does not resolve — fix: echo '127.0.0.1 traefik.local' | sudo tee -a /etc/hosts",
      0,
    ],
    [
      "port 443 held by another program",
      (l) => l.held.add("443"),
      "port 443",
      "FAIL port 443: held by another program — fix: find it with: sudo ss -ltnp 'sport = :443'",
      1,
    ],
    [
      "port 80 held by the old compose Traefik",
      (l) => {
        l.held.add("80");
        l.tools.docker = l.tools.docker.replace("echo infra_traefik", "echo traefik");
      },
      "port 80",
      "FAIL port 80: held by container traefik — fix: stop it first (docker stop traefik",
      1,
    ],
    [
      "port 80 held by this stack's Traefik",
      (l) => l.held.add("80"),
      "port 80",
      "ok   port 80: held by this stack's Traefik (infra_traefik)",
      0,
    ],
    [
      "the sms image not built",
      (l) => (l.tools.docker = l.tools.docker.replace(' || [ "$5" = sms-server:latest ]', "")),
      "image sms-server:latest",
      "FAIL image sms-server:latest: not on this machine (the dev stack runs images built here) — fix: from your ems_system checkout's root: docker build -f servers/sms/container/Dockerfile --build-arg VERSION=$(sed -n 's/^version: *//p' servers/sms/server_v1/pubspec.yaml) --build-arg ENVIRONMENT=development -t sms-server:latest .",
      1,
    ],
    [
      "no crontab command",
      (l) => delete l.tools.crontab,
      "crontab",
      "FAIL crontab: the crontab command is not installed (the dev backup job needs it) — fix: apt install cron",
      1,
    ],
    [
      "an empty crontab",
      (l) => (l.tools.crontab = 'echo "no crontab for ana" >&2; exit 1'),
      "crontab",
      "ok   crontab: the dev deploy adds one line",
      0,
    ],
  ];

  test.each(cases)("%s", async (_what, breakIt, check, expected, failures) => {
    const laptop = readyLaptop();
    breakIt(laptop);
    const { code, lines, stderr } = await doctor(laptop);
    expect(lineOf(lines, check).startsWith(expected)).toBe(true);
    expect(code).toBe(failures ? 1 : 0);
    if (failures) {
      expect(stderr).toBe(
        `${failures} check${failures === 1 ? "" : "s"} failed: the deploy would fail; fix the FAIL lines above\n`,
      );
      expect(lines).not.toContain("ready to deploy: npm run deploy -- --stack dev");
    } else {
      expect(
        lines.filter((l) => !l.startsWith("ok   ") && !l.startsWith("ready to deploy")).length,
      ).toBeLessThanOrEqual(1);
    }
  });

  test("without Docker the images cannot be checked: each still names the command that builds it", async () => {
    const laptop = readyLaptop();
    delete laptop.tools.docker;
    const { lines } = await doctor(laptop);
    expect(lineOf(lines, "image ems-server:latest")).toMatch(
      /^FAIL image ems-server:latest: cannot be checked without Docker — fix: from your ems_system checkout's root: docker build -f servers\/ems\/container\/Dockerfile /,
    );
    expect(lines.some((l) => l.includes("Traefik ↔ Docker"))).toBe(false);
  });

  test("the developer's Pulumi.dev.local.yaml is honoured: a name they route is checked", async () => {
    fs.writeFileSync(
      path.join(project, "Pulumi.dev.local.yaml"),
      "config:\n  ems-infra:traefik:\n    dashboard:\n      host: proxy.ana.local\n",
    );
    const { lines } = await doctor(readyLaptop());
    expect(lineOf(lines, "name proxy.ana.local")).toBe(
      "WARN name proxy.ana.local: does not resolve — fix: echo '127.0.0.1 proxy.ana.local' | sudo tee -a /etc/hosts",
    );
    expect(lines.some((l) => l.includes("name traefik.local"))).toBe(false);
  });

  test("a production stack is refused: doctor is for a laptop's dev stack", async () => {
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), path.join(project, "Pulumi.prod.yaml"));
    await expect(runDoctor("prod", fakeIo(), project, hostOf(readyLaptop()))).rejects.toThrow(
      "stack prod is a production stack: doctor checks a laptop's dev stack (the deploy checks the VPS itself)",
    );
  });
});

describe("npm run deploy -- --stack dev runs the same checks first", () => {
  test("it stops on the same lines before opening the stack", async () => {
    const laptop = readyLaptop();
    delete laptop.tools.pulumi;
    laptop.held.add("443");
    const stack = new FakeStack("dev", {});
    const deps = {
      ...fakeDeps(stack),
      checkMachine: (name: string, io: Io) => checkBeforeDeploy(name, io, project, hostOf(laptop)),
    };
    const io = fakeIo({ tty: true, answers: ["y"] });
    expect(await deployMain(["--stack", "dev"], io, deps)).toBe(1);
    expect(deps.opened).toEqual([]);
    expect(stack.changes).toEqual([]);
    const doctorRun = await doctor(laptop);
    // Every line doctor prints, the FAIL ones among them, then why the deploy stopped.
    expect(io.stdout.split("\n").filter(Boolean)).toEqual(doctorRun.lines);
    expect(io.stderr).toBe(
      "2 checks failed: the deploy would fail; fix the FAIL lines above\n" +
        "error: not deploying stack dev: this machine is not ready (npm run doctor -- --stack dev)\n",
    );
  });

  test("a ready laptop goes on to the preview, printing only what is not ok", async () => {
    const laptop = readyLaptop();
    laptop.hosts = "127.0.0.1 api.ems.local api.sms.local portainer.local\n";
    const stack = new FakeStack("dev", {});
    const deps = {
      ...fakeDeps(stack),
      checkMachine: (name: string, io: Io) => checkBeforeDeploy(name, io, project, hostOf(laptop)),
    };
    const io = fakeIo({ tty: true, answers: ["n"] });
    await deployMain(["--stack", "dev"], io, deps);
    expect(deps.opened).toEqual([{ name: "dev", workDir: "/repo", create: true }]);
    expect(io.stdout.split("\n")[0]).toBe(
      "WARN name traefik.local: does not resolve — fix: echo '127.0.0.1 traefik.local' | sudo tee -a /etc/hosts",
    );
  });

  test("a production stack is not checked as a laptop", async () => {
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), path.join(project, "Pulumi.prod.yaml"));
    const io = fakeIo();
    expect(await checkBeforeDeploy("prod", io, project, hostOf(readyLaptop()))).toBe(true);
    expect(await checkBeforeDeploy("staging", io, project, hostOf(readyLaptop()))).toBe(true);
    expect(io.stdout + io.stderr).toBe("");
  });
});

describe("npm run doctor on this machine, for real", () => {
  test("reports what is missing here, one line per check, and exits 1 only with a FAIL line", async () => {
    // The command itself, as `npm run doctor -- --stack dev` runs it, on a copy of the committed stack file.
    const io = fakeIo();
    const code = await doctorCommand.main(["--stack", "dev"], io, {
      ...fakeDeps(new FakeStack("dev")),
      repoRoot: project,
    });
    const lines = io.stdout.split("\n").filter(Boolean);
    // What this machine lacks is printed for whoever reads the CI log; the build does not depend on it.
    process.stderr.write(
      `doctor on this machine (exit ${code}):\n${`${io.stdout}${io.stderr}`.replace(/^/gm, "  | ")}\n`,
    );
    const checks = lines.filter((l) => !l.startsWith("ready to deploy"));
    for (const line of checks) expect(line).toMatch(/^(ok {2}|WARN|FAIL) \S.*?: .+/);
    for (const line of checks.filter((l) => !l.startsWith("ok"))) expect(line).toContain(" — fix: ");
    for (const name of [
      "Node.js",
      "npm",
      "Docker engine",
      "Pulumi CLI",
      "passphrase",
      "crontab",
      "port 80",
      "port 443",
    ])
      expect(checks.filter((l) => l.slice(5).startsWith(`${name}: `))).toHaveLength(1);
    expect(code).toBe(checks.some((l) => l.startsWith("FAIL")) ? 1 : 0);
  });
});

/**
 * `npm run tunnel -- --stack prod --service portainer`: opens an SSH tunnel from this machine to Portainer, which
 * in production has no router and answers on the VPS's 127.0.0.1 only (README, "Security"). Thin on purpose: the
 * stack's `ems-infra:ssh` (key, known_hosts verified) and `ems-infra:portainer.tunnelPort`, then the system's ssh.
 */
import { spawn } from "child_process";
import { sshOptions } from "../components/hostCommand";
import { rawSchema } from "../stacks/configSchema";
import { CommandSpec, parseArgs, stackFlag, UsageError } from "./args";
import { describeError, handleArgs, Io, runCli } from "./cli";
import type { HostTarget } from "./hostShell";
import { configObject, hostTargetOf } from "./stackConfig";
import { printTarget } from "./target";
import { defaultDeps, OpsDeps } from "./workspace";

export const tunnelSpec = {
  command: "npm run tunnel --",
  summary: "Opens an SSH tunnel to a service that answers on the host's loopback only (Portainer in production).",
  flags: {
    stack: stackFlag("Stack, e.g. prod"),
    service: { type: "string", required: true, valueName: "name", description: "The service: portainer" },
    port: { type: "integer", valueName: "n", description: "Port on this machine (default: the same as the host's)" },
  },
  notes: [
    "Stop the tunnel with Ctrl-C. Portainer's admin password: pulumi stack output portainerAdminPassword --show-secrets.",
  ],
  examples: [
    "npm run tunnel -- --stack prod --service portainer",
    "npm run tunnel -- -s prod --service portainer --port 19000",
  ],
} as const satisfies CommandSpec;

/** The services a tunnel reaches. */
const TUNNELLED = ["portainer"];

/** `ssh -N -L <local>:127.0.0.1:<remote> <the stack's ssh options> -- user@host`: no remote command, the tunnel only. */
export function tunnelInvocation(
  target: Exclude<HostTarget, "local">,
  localPort: number,
  remotePort: number,
): string[] {
  return [
    "ssh",
    "-N",
    "-o",
    "ExitOnForwardFailure=yes",
    "-L",
    `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`,
    ...sshOptions(target),
    "--",
    `${target.user}@${target.host}`,
  ];
}

export async function main(argv: readonly string[], io: Io, deps: OpsDeps = defaultDeps): Promise<number> {
  const args = handleArgs(tunnelSpec, io, () => {
    const parsed = parseArgs(tunnelSpec, argv);
    if (!parsed.help && !TUNNELLED.includes(parsed.values.service))
      throw new UsageError(`--service ${parsed.values.service}: only ${TUNNELLED.join(", ")} is reached by a tunnel`);
    return parsed.help ? parsed : { help: false as const, options: parsed.values };
  });
  if (args.kind === "exit") return args.code;
  try {
    const stack = await deps.openStack(args.options.stack, deps.repoRoot, false);
    await printTarget(stack, io, deps);
    const portainer = rawSchema.shape.portainer.parse((await configObject(stack, "portainer")) ?? {});
    const remotePort = portainer.tunnelPort;
    const localPort = args.options.port ?? remotePort;
    const target = await hostTargetOf(stack);
    if (target === "local") {
      io.out(`the stack runs on this machine: Portainer answers on http://localhost:${remotePort}, no tunnel needed\n`);
      return 0;
    }
    const [file, ...rest] = tunnelInvocation(target, localPort, remotePort);
    io.out(
      `Portainer: http://localhost:${localPort} (admin: pulumi stack output portainerAdminPassword --show-secrets --stack ${stack.name}); Ctrl-C closes the tunnel\n`,
    );
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(file, rest, { stdio: "inherit" });
      child.on("error", reject);
      child.on("close", (code) => resolve(code ?? 1));
    });
  } catch (error) {
    io.err(`error: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) runCli((argv, io) => main(argv, io));

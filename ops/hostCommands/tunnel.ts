/** The ssh line of `npm run tunnel`: a port of this machine forwarded to the host's loopback, no remote command. */
import { HostConnection, sshOptions } from "../../components/hostCommand";

/** `ssh -N -L 127.0.0.1:<local>:127.0.0.1:<remote> <the stack's ssh options> -- user@host`, as argv. */
export function tunnelArgs(target: HostConnection, localPort: number, remotePort: number): string[] {
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

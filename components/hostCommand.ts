import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "./shell";

/** How to reach the host over SSH; absent means "this machine". */
export interface HostConnection {
  /** Host name or address of the VPS (IPv6 without brackets). */
  host: string;
  /** SSH user (the seed's folders live under /root). */
  user: string;
  /** SSH port. */
  port: number;
  /** Private key file; without it the SSH agent is used. */
  identityFile?: string;
  /** known_hosts file that must hold the host's key: it is verified, never accepted blindly. */
  knownHostsFile: string;
}

export interface HostCommandArgs {
  /** Command run on create and on every change of its inputs. */
  create: pulumi.Input<string>;
  /** Text fed to the command's standard input (the script itself, so it need not exist on the host). */
  stdin?: pulumi.Input<string>;
  /** Values whose change re-runs the command as a replacement. */
  triggers?: pulumi.Input<unknown[]>;
}

/** `user@host:port` of a connection, an IPv6 address in brackets: the one way every message and URL writes it. */
export function describeConnection(connection: Pick<HostConnection, "user" | "host" | "port">): string {
  const host = connection.host.includes(":") ? `[${connection.host}]` : connection.host;
  return `${connection.user}@${host}:${connection.port}`;
}

/** The `ssh` options shared by the host commands and the Docker provider: same key, host key verified. */
export function sshOptions(connection: HostConnection): string[] {
  return [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${connection.knownHostsFile}`,
    ...(connection.identityFile ? ["-o", "IdentitiesOnly=yes", "-i", connection.identityFile] : []),
    "-p",
    String(connection.port),
  ];
}

/** The command line that runs `remoteCommand` on the host over SSH (standard input passed through). */
export function sshCommand(connection: HostConnection, remoteCommand: string): string {
  return ["ssh", ...sshOptions(connection), "--", `${connection.user}@${connection.host}`, remoteCommand]
    .map(shellQuote)
    .join(" ");
}

/**
 * Runs a command on the host: on this machine, or over the system's `ssh` (the same key and known_hosts as the
 * Docker provider) when a connection is given. It is always a local Command, so turning SSH on or off updates
 * the resource instead of replacing it (the protected folder layout could not be replaced).
 */
export function hostCommand(
  name: string,
  args: HostCommandArgs,
  connection: HostConnection | undefined,
  opts: pulumi.CustomResourceOptions,
): command.local.Command {
  const create = connection ? pulumi.output(args.create).apply((c) => sshCommand(connection, c)) : args.create;
  return new command.local.Command(
    name,
    { create, update: create, stdin: args.stdin, triggers: args.triggers, interpreter: ["/bin/sh", "-c"] },
    // Stacks deployed before host commands went through the system's ssh had remote Commands.
    { ...opts, aliases: [...(opts.aliases ?? []), { type: "command:remote:Command" }] },
  );
}

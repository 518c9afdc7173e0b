import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/** How to reach the host over SSH; absent means "this machine". */
export interface HostConnection {
  /** Host name or address of the VPS. */
  host: string;
  /** SSH user (the seed's folders live under /root). */
  user: string;
  /** SSH port. */
  port: number;
  /** Private key, a Pulumi secret; without it the SSH agent is used. */
  privateKey?: pulumi.Input<string>;
}

export interface HostCommandArgs {
  /** Command run on create and on every change of triggers. */
  create: pulumi.Input<string>;
  /** Text fed to the command's standard input (the script itself, so it need not exist on the host). */
  stdin?: pulumi.Input<string>;
  /** Values whose change re-runs the command. */
  triggers?: pulumi.Input<any[]>;
}

/** Runs a command on the host: over SSH when a connection is given, on this machine otherwise. */
export function hostCommand(
  name: string,
  args: HostCommandArgs,
  connection: HostConnection | undefined,
  opts: pulumi.CustomResourceOptions,
): command.local.Command | command.remote.Command {
  const common = { create: args.create, update: args.create, stdin: args.stdin, triggers: args.triggers };
  if (!connection) return new command.local.Command(name, { ...common, interpreter: ["/bin/sh", "-c"] }, opts);
  return new command.remote.Command(
    name,
    {
      ...common,
      connection: {
        host: connection.host,
        user: connection.user,
        port: connection.port,
        privateKey: connection.privateKey,
      },
    },
    opts,
  );
}

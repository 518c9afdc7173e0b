import * as pulumi from "@pulumi/pulumi";
import { HostConnection, hostCommand } from "./hostCommand";
import { readScript, scriptCommand } from "./shell";

export interface MigrationArgs {
  /** Old folder → new folder pairs; files newer in the new folder are kept. */
  copies: { from: string; to: string }[];
  /** SSH connection to the host; absent runs on this machine. */
  connection?: HostConnection;
}

/** The seed's one-off migration: copies the old letsencrypt and uploads folders into the new hierarchy. */
export class Migration extends pulumi.ComponentResource {
  /** What the copy reported. */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: MigrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:Migration", name, {}, opts);
    const pairs = args.copies.flatMap((c) => [c.from, c.to]);
    const copy = hostCommand(
      `${name}-copy`,
      { create: scriptCommand(pairs), stdin: readScript("migrate-copy.sh") },
      args.connection,
      { parent: this },
    );
    this.report = copy.stdout;
    this.registerOutputs({ report: this.report });
  }
}

import * as pulumi from "@pulumi/pulumi";
import { HostConnection, hostCommand } from "./hostCommand";
import { readScript, scriptCommand } from "./shell";

export interface HostFolder {
  /** Absolute path on the host. */
  path: string;
  /** Octal mode forced on the folder (e.g. "700" for secrets); absent keeps the default. */
  mode?: string;
}

export interface HostLayoutArgs {
  /** Folders that must exist; created with their parents, never emptied or deleted. */
  folders: HostFolder[];
  /** SSH connection to the host; absent runs on this machine. */
  connection?: HostConnection;
  /** Protect the folders' resource from `pulumi destroy` (prod data). */
  protectData?: boolean;
}

/** The host's folder hierarchy (the seed's section 2), created idempotently by host-layout.sh. */
export class HostLayout extends pulumi.ComponentResource {
  /** The folders as created, in the order given. */
  public readonly folders: pulumi.Output<string[]>;

  constructor(name: string, args: HostLayoutArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:HostLayout", name, {}, opts);
    const specs = args.folders.map((f) => {
      if (f.mode !== undefined && !/^[0-7]{3,4}$/.test(f.mode))
        throw new Error(`HostLayout: mode ${JSON.stringify(f.mode)} of ${f.path} is not octal`);
      if (!f.path.startsWith("/") || /[\n\r\0]/.test(f.path))
        throw new Error(`HostLayout: ${JSON.stringify(f.path)} is not an absolute path on one line`);
      return `${f.mode ?? ""}:${f.path}`;
    });
    const create = hostCommand(
      `${name}-data-folders`,
      // No triggers: a new folder re-runs the script as an update. A replacement would be refused in prod,
      // where this resource is protected.
      { create: scriptCommand(specs), stdin: readScript("host-layout.sh") },
      args.connection,
      { parent: this, protect: args.protectData, retainOnDelete: args.protectData },
    );
    this.folders = create.stdout.apply(() => args.folders.map((f) => f.path));
    this.registerOutputs({ folders: this.folders });
  }
}

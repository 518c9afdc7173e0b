import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { MKCERT_FILES } from "./traefikConfig";
import { readScript, scriptCommand } from "./shell";

export interface LocalCertificatesArgs {
  /** Folder where local.pem and local-key.pem live (the seed's servers/infra/certs). */
  certsDir: string;
  /** Host names the certificate covers (the .local API domains). */
  domains: string[];
}

/** A locally trusted certificate made by mkcert on this machine, kept when it already exists. */
export class LocalCertificates extends pulumi.ComponentResource {
  /** Path of the certificate file. */
  public readonly certFile: pulumi.Output<string>;
  /** Path of the private key file. */
  public readonly keyFile: pulumi.Output<string>;
  /** Checksum of the certificate: changes when a new certificate is made. */
  public readonly fingerprint: pulumi.Output<string>;

  constructor(name: string, args: LocalCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ems:infra:LocalCertificates", name, {}, opts);
    const make = new command.local.Command(
      `${name}-mkcert`,
      {
        create: scriptCommand([args.certsDir, ...args.domains]),
        update: scriptCommand([args.certsDir, ...args.domains]),
        stdin: readScript("mkcert.sh"),
        interpreter: ["/bin/sh", "-c"],
        triggers: [args.certsDir, ...args.domains],
      },
      { parent: this },
    );
    this.certFile = make.stdout.apply(() => `${args.certsDir}/${MKCERT_FILES.cert}`);
    this.keyFile = make.stdout.apply(() => `${args.certsDir}/${MKCERT_FILES.key}`);
    this.fingerprint = make.stdout.apply((out) => /mkcert: fingerprint (\d+)/.exec(out)?.[1] ?? "");
    this.registerOutputs({ certFile: this.certFile, keyFile: this.keyFile, fingerprint: this.fingerprint });
  }
}

/**
 * A docker.Container's inputs as the program registers them under the mocks, in the shapes the tests and the
 * release-loop bench both drive the real engine with: unwrapped inputs, and the tar archive the provider uploads.
 */
import type { ContainerArgs, types as dockerTypes } from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { isSecretEnvelope } from "./mockProgram";

/** A resolved input with Pulumi's secret wrappers (`{ <sig>: ..., value }`) removed, recursively. */
export function plain<T = unknown>(value: unknown): T {
  if (Array.isArray(value)) return value.map((v) => plain(v)) as T;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (isSecretEnvelope(obj)) return plain(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)])) as T;
  }
  return value as T;
}

/** A docker.Container's inputs, resolved and unwrapped (`plain`): what the provider sends the engine. */
export type ContainerInputs = pulumi.Unwrap<ContainerArgs>;
export type MountInput = pulumi.Unwrap<dockerTypes.input.ContainerMount>;
export type HealthcheckInput = NonNullable<ContainerInputs["healthcheck"]>;
export type PortInput = NonNullable<ContainerInputs["ports"]>[number];

export interface TarFile {
  /** Path inside the archive, without the leading slash. */
  name: string;
  content: Buffer;
  mode: number;
}

/** A ustar archive of regular files owned by root (0:0), as the provider sends for `uploads`. */
export function tarArchive(files: TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const header = Buffer.alloc(512);
    const slash = f.name.length > 100 ? f.name.lastIndexOf("/", 155) : -1;
    const [prefix, name] = slash > 0 ? [f.name.slice(0, slash), f.name.slice(slash + 1)] : ["", f.name];
    if (name.length > 100 || prefix.length > 155) throw new Error(`tarArchive: path too long: ${f.name}`);
    const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, "0") + "\0";
    header.write(name, 0, "utf8");
    header.write(octal(f.mode, 8), 100);
    header.write(octal(0, 8), 108);
    header.write(octal(0, 8), 116);
    header.write(octal(f.content.length, 12), 124);
    header.write(octal(0, 12), 136);
    header.write("        ", 148); // checksum counted as spaces
    header.write("0", 156);
    header.write("ustar\x0000", 257, "latin1");
    header.write(prefix, 345, "utf8");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    blocks.push(header, f.content, Buffer.alloc((512 - (f.content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

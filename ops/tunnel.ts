/** Holds an SSH tunnel open (the terminal attached) until ssh exits or Ctrl-C; resolves with ssh's exit code. */
import { spawn } from "child_process";

export function openTunnel(argv: string[]): Promise<number> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: "inherit" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

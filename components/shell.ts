import * as fs from "fs";
import * as path from "path";

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** The text of a script in components/scripts, the same file the tests run. */
export function readScript(name: string): string {
  return fs.readFileSync(path.join(__dirname, "scripts", name), "utf8");
}

/** A command line that runs a script fed on stdin with the given arguments. */
export function scriptCommand(args: string[]): string {
  return ["sh", "-s", "--", ...args.map(shellQuote)].join(" ");
}

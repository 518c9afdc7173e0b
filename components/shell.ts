import * as fs from "fs";
import * as path from "path";

/**
 * Quotes one word for a POSIX shell: the one quoting helper for every value that reaches a shell (scripts,
 * ssh's remote command, `docker exec`, crontab lines). A NUL cannot be passed in an argument: refused.
 */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new Error("shellQuote: a shell word cannot hold a NUL character");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** A command line of quoted words: `--` and every value are passed as they are, one argument each. */
export function shellWords(words: string[]): string {
  return words.map(shellQuote).join(" ");
}

/**
 * A shell command as a crontab line holds it: cron turns every unescaped `%` into a newline (the rest of the
 * line becomes the command's stdin, so the command is cut), and drops the `\` of `\%`; a newline would start
 * an entry of its own. So `%` is written `\%`, and a newline is refused.
 */
export function crontabCommand(command: string): string {
  if (/[\n\r]/.test(command)) throw new Error("crontabCommand: a crontab command cannot hold a newline");
  return command.replace(/%/g, "\\%");
}

/** One crontab entry: a 5-field schedule and a shell command (see `crontabCommand`). */
export function crontabLine(schedule: string, command: string): string {
  const fields = schedule.trim().split(/[ \t]+/);
  if (fields.length !== 5 || /[\n\r%]/.test(schedule))
    throw new Error(`crontabLine: ${JSON.stringify(schedule)} is not 5 fields on one line`);
  return `${fields.join(" ")} ${crontabCommand(command)}`;
}

/** The trailing comment that marks a crontab line as one of ems-infra's jobs: `# ems-infra:<job>`. */
export function cronJobMarker(job: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(job)) throw new Error(`cronJobMarker: bad job name ${JSON.stringify(job)}`);
  return `# ems-infra:${job}`;
}

/**
 * A filter (crontab text on stdin, the kept lines on stdout) that drops the lines ending in one of the jobs'
 * markers exactly: job `x-backup` does not drop `x-backup-2`'s line, which merely contains its marker.
 */
export function withoutCronJobs(jobs: readonly string[]): string {
  if (jobs.length === 0) throw new Error("withoutCronJobs: no job");
  const vars = jobs.map((job, i) => `-v m${i}=${shellQuote(cronJobMarker(job))}`);
  const kept = jobs.map((_, i) => `substr($0, length($0) - length(m${i}) + 1) != m${i}`).join(" && ");
  return `awk ${vars.join(" ")} '${kept}'`;
}

/** The text of a script in components/scripts, the same file the tests run. */
export function readScript(name: string): string {
  return fs.readFileSync(path.join(__dirname, "scripts", name), "utf8");
}

/** A command line that runs a script fed on stdin with the given arguments. */
export function scriptCommand(args: string[]): string {
  return shellWords(["sh", "-s", "--", ...args]);
}

/** A file the host command writes, with its octal mode. */
export interface HostFile {
  /** File name inside the folder. */
  name: string;
  /** Its whole content. */
  content: string;
  /** Octal mode, e.g. "600". */
  mode: string;
}

const HEREDOC_END = "EMS_INFRA_EOF";

/**
 * A script that writes `files` into `dir` (created when missing), each through a temporary file renamed over
 * the old one, so a program watching the folder (Traefik's file provider) never reads half a file.
 */
export function writeFilesScript(dir: string, files: HostFile[]): string {
  const lines = ["set -eu", "umask 077", `dir=${shellQuote(dir)}`, 'mkdir -p "$dir"'];
  for (const f of files) {
    if (!/^[A-Za-z0-9_.-]+$/.test(f.name)) throw new Error(`writeFilesScript: bad file name ${JSON.stringify(f.name)}`);
    if (!/^[0-7]{3,4}$/.test(f.mode)) throw new Error(`writeFilesScript: bad mode ${f.mode} for ${f.name}`);
    const body = f.content.endsWith("\n") ? f.content : `${f.content}\n`;
    if (body.split("\n").includes(HEREDOC_END))
      throw new Error(`writeFilesScript: ${f.name} contains the line ${HEREDOC_END}`);
    lines.push(
      `tmp="$dir/.${f.name}.$$"`,
      `cat > "$tmp" <<'${HEREDOC_END}'`,
      `${body}${HEREDOC_END}`,
      `chmod ${f.mode} "$tmp"`,
      `mv -f "$tmp" "$dir/${f.name}"`,
      `echo "wrote $dir/${f.name}"`,
    );
  }
  return `${lines.join("\n")}\n`;
}

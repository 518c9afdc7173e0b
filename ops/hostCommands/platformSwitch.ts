/**
 * The host commands of `npm run switch-platform` (one engine → Swarm), as POSIX `sh` strings; every value quoted.
 * The stop, start, dump and journal commands are the cut-over's (hostCommands/cutover.ts); these are the ones the
 * switch adds. test/platform-switch/host-commands.test.ts runs each on the real dockerd (the service ones on a
 * private engine in swarm mode).
 */
import { shellQuote as q } from "../../components/shell";

export const PLATFORM_SWITCH_COMMANDS = {
  /**
   * Which engine and disk a shell reaches: `<engine ID> <host name> <the volume's CreatedAt>`. The engine ID alone is
   * not enough: Docker 20.10 derives it from /etc/docker/key.json, shared by every dockerd of a machine and by cloned
   * VM images (test/platform-switch/swarm-commands.test.ts); the data volume's creation time on that disk is not.
   * Prints `absent` for the volume part on an engine that has no such volume.
   */
  placeIdentity: (volume: string) => `id=$(docker info --format '{{.ID}} {{.Name}}') || exit 1
v=$(docker volume inspect --format '{{.CreatedAt}}' ${q(volume)} 2>/dev/null) || v=absent
printf '%s %s\\n' "$id" "$v"`,

  /**
   * Removes the system's Swarm services (found by their `com.ems.system` label) and waits until none is left;
   * prints the names removed, one a line. Run on a manager.
   */
  removeServices: (system: string, seconds: number) => `set -eu
label=${q(`com.ems.system=${system}`)}
names=$(docker service ls --filter "label=$label" --format '{{.Name}}')
for n in $names; do docker service rm "$n" >/dev/null; printf '%s\\n' "$n"; done
i=0
while [ -n "$(docker service ls -q --filter "label=$label")" ]; do
  i=$((i + 1)); [ "$i" -le ${seconds} ] || { echo "services still listed after ${seconds} s" >&2; exit 1; }
  sleep 1
done`,

  /**
   * Waits until no running container but `keep` mounts the volume (a removed service's task is stopped with its
   * grace period first); fails naming the ones still there.
   */
  waitVolumeFree: (volume: string, keep: string, seconds: number) => `i=0
while :; do
  held=$(docker ps --filter ${q(`volume=${volume}`)} --format '{{.Names}}' | grep -vxF ${q(keep)} || true)
  [ -n "$held" ] || exit 0
  i=$((i + 1))
  if [ "$i" -gt ${seconds} ]; then echo "still running on ${volume}: $held" >&2; exit 1; fi
  sleep 1
done`,

  /** A file written whole (content on stdin) then renamed, mode 600: the saved state. */
  writePrivate: (file: string) =>
    `set -eu; umask 077; f=${q(file)}; mkdir -p "$(dirname "$f")"; cat >"$f.tmp"; chmod 600 "$f.tmp"; mv "$f.tmp" "$f"`,
  /** The file, or nothing. */
  read: (file: string) => `f=${q(file)}; [ ! -e "$f" ] || cat "$f"`,
  remove: (file: string) => `rm -f ${q(file)}`,

  /** `running desired` tasks of a service (`3/3` → `3 3`), through a manager. */
  replicas: (service: string) =>
    `docker service ls --filter ${q(`name=${service}`)} --format '{{.Name}} {{.Replicas}}' | awk -v s=${q(service)} '$1 == s { split($2, r, "/"); print r[1], r[2] }'`,
};

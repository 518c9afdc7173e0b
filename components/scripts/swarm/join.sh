#!/bin/sh
# join.sh - joins this node to the swarm, fed on standard input after these assignments (never in argv):
#   WORKER_TOKEN=... MANAGER_TOKEN=... (tokens.sh's output)  ROLE=worker|manager
#   MANAGER_ADDR=host:2377 (the first manager)  ADVERTISE_ADDR=this node's address
# A node already in a swarm is left as it is (joining twice is refused by Docker; its role is set by label.sh).
# Prints this node's id on stdout. The token is never printed: docker's output goes to /dev/null and its error
# (which names no token) to stderr.
set -eu
: "${ROLE:?}" "${MANAGER_ADDR:?}" "${ADVERTISE_ADDR:?}"
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
case $state in
  active) echo "swarm: this node is already in a swarm; not joined again" >&2 ;;
  inactive)
    if [ "$ROLE" = manager ]; then token=$MANAGER_TOKEN; else token=$WORKER_TOKEN; fi
    docker swarm join --token "$token" --advertise-addr "$ADVERTISE_ADDR" "$MANAGER_ADDR" >/dev/null
    ;;
  *) echo "swarm: node state is \"$state\"; resolve it by hand (docker info)" >&2; exit 1 ;;
esac
docker info --format '{{.Swarm.NodeID}}'

#!/bin/sh
# leave.sh - run on the node itself after drain.sh: leaves the swarm (a node not in one is left as it is).
set -eu
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ]; then
  docker swarm leave >/dev/null
fi
echo "swarm: left"

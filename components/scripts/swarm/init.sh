#!/bin/sh
# init.sh - initialises the swarm on this node (the first manager in config) unless it is in one already.
# Never initialises again: an active node is left as it is (a second `swarm init` would be refused anyway, and
# `--force-new-cluster` is a disaster-recovery step for a person, not for a deploy).
#
#   init.sh ADVERTISE_ADDR
#
# Prints this node's id on stdout. Exit 1 when the node is in a swarm but not as a manager, or in a state
# (pending, error, locked) that needs a person.
set -eu
addr=${1:?usage: init.sh ADVERTISE_ADDR}
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
case $state in
  active) echo "swarm: this node is already in a swarm; not initialised again" >&2 ;;
  inactive) docker swarm init --advertise-addr "$addr" >/dev/null ;;
  *) echo "swarm: node state is \"$state\"; resolve it by hand (docker info)" >&2; exit 1 ;;
esac
if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
  echo "swarm: this node is in a swarm as a worker; the first node in config must be a manager" >&2
  exit 1
fi
docker info --format '{{.Swarm.NodeID}}'

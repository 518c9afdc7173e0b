#!/bin/sh
# remove.sh - run on a manager after leave.sh: removes the node entries that are down at ADDRESS (a node that
# left shows as "down" until removed). A node still up there is kept.
#
#   remove.sh ADDRESS
set -eu
addr=${1:?usage: remove.sh ADDRESS}
for node in $(docker node ls -q); do
  info=$(docker node inspect --format '{{.Status.Addr}} {{.Status.State}}' "$node")
  if [ "$info" = "$addr down" ]; then docker node rm "$node" >/dev/null; echo "swarm: removed $node"; fi
done

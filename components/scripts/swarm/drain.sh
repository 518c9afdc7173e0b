#!/bin/sh
# drain.sh - run on a manager when a node leaves the config: drains it (Swarm starts its tasks elsewhere first),
# waits until none of its tasks runs any more, and demotes it when it is a manager, so it can then leave.
# "Runs" is the task's current state, whatever its desired state: a task told to shut down still runs until its
# container exits (the API servers ignore SIGTERM: their 30 s stop grace), and a node leaving meanwhile fails
# ("context deadline exceeded").
#
#   drain.sh NODE_ID [TIMEOUT_SECONDS]   (default 300)
#
# Exit 1 when the tasks still run after the timeout (the node stays drained; run the delete again).
set -eu
node=${1:?usage: drain.sh NODE_ID [TIMEOUT_SECONDS]}
timeout=${2:-300}
if ! docker node inspect "$node" >/dev/null 2>&1; then
  echo "swarm: node $node is not in the swarm any more" >&2
  exit 0
fi
docker node update --availability drain "$node" >/dev/null
waited=0
while [ -n "$(docker node ps --format '{{.ID}} {{.CurrentState}}' "$node" |
  grep -i ' running' || true)" ]; do
  if [ "$waited" -ge "$timeout" ]; then
    echo "swarm: tasks still running on $node after ${timeout}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done
if [ "$(docker node inspect --format '{{.Spec.Role}}' "$node")" = manager ]; then
  docker node demote "$node" >/dev/null
fi
echo "swarm: $node drained"

#!/bin/sh
# tokens.sh - prints the swarm's join tokens as shell assignments (WORKER_TOKEN=..., MANAGER_TOKEN=...), run on
# a manager. The program keeps them as secrets and hands them to join.sh on its standard input, never in argv.
set -eu
printf "WORKER_TOKEN='%s'\nMANAGER_TOKEN='%s'\n" "$(docker swarm join-token -q worker)" \
  "$(docker swarm join-token -q manager)"

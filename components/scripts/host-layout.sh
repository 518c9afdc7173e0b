#!/bin/sh
# Creates every folder given as MODE:PATH (an empty MODE keeps the default), idempotently:
# existing folders and their contents are never touched, except for the mode asked for.
set -eu
for spec in "$@"; do
  mode=${spec%%:*}
  dir=${spec#*:}
  if [ -d "$dir" ]; then
    state=exists
  else
    mkdir -p "$dir"
    state=created
  fi
  if [ -n "$mode" ]; then
    chmod "$mode" "$dir"
  fi
  echo "layout: $state $dir${mode:+ (mode $mode)}"
done

#!/bin/sh
# Creates every folder given as MODE:PATH (an empty MODE keeps the default), idempotently:
# existing folders and their contents are never touched, except for the mode asked for.
set -eu
for spec in "$@"; do
  mode=${spec%%:*}
  dir=${spec#*:}
  case $mode in
    '' | [0-7][0-7][0-7] | [0-7][0-7][0-7][0-7]) ;;
    *) echo "layout: bad mode in $spec (expected MODE:PATH, MODE octal)" >&2; exit 2 ;;
  esac
  case $dir in
    /*) ;;
    *) echo "layout: $dir is not an absolute path" >&2; exit 2 ;;
  esac
  if [ -d "$dir" ]; then
    state=exists
  else
    mkdir -p -- "$dir"
    state=created
  fi
  if [ -n "$mode" ]; then
    chmod -- "$mode" "$dir"
  fi
  echo "layout: $state $dir${mode:+ (mode $mode)}"
done

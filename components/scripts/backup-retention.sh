#!/bin/sh
# backup-retention.sh - apply backup.sh's retention to a folder of dumps, without dumping anything.
#
# Usage:
#   backup-retention.sh [DIR]      DIR defaults to BACKUP_DIR
#
# Environment: BACKUP_DIR, KEEP_DAILY (default 14), KEEP_WEEKLY (default 8), as for backup.sh.
# The rules live in backup.sh (one file, so backup.sh also works when piped to `sh -s`); this wrapper runs
# `backup.sh --retention-only` from the same folder, where the backup job installs both.
set -eu

if [ $# -gt 1 ]; then
  echo "backup-retention: usage: backup-retention.sh [DIR]" >&2
  exit 2
fi
if [ $# -eq 1 ]; then
  BACKUP_DIR=$1
fi
export BACKUP_DIR
here=$(cd "$(dirname "$0")" && pwd -P)
exec sh "$here/backup.sh" --retention-only

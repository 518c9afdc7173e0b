#!/bin/sh
# label.sh - run on a manager: gives node NODE_ID the role and exactly the labels in config (labels it has
# beyond them are removed) and makes it available for tasks again (after a drain).
#
#   label.sh NODE_ID ROLE [KEY=VALUE]...
set -eu
node=${1:?usage: label.sh NODE_ID ROLE [KEY=VALUE]...}
role=${2:?usage: label.sh NODE_ID ROLE [KEY=VALUE]...}
shift 2
case $role in manager) docker node promote "$node" >/dev/null ;; worker) docker node demote "$node" >/dev/null ;;
  *) echo "label.sh: role must be manager or worker" >&2; exit 2 ;;
esac
for key in $(docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' "$node"); do
  keep=no
  for want in "$@"; do [ "${want%%=*}" = "$key" ] && keep=yes; done
  [ "$keep" = yes ] || docker node update --label-rm "$key" "$node" >/dev/null
done
for want in "$@"; do docker node update --label-add "$want" "$node" >/dev/null; done
docker node update --availability active "$node" >/dev/null
docker node inspect --format '{{.Spec.Role}} {{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "$node"

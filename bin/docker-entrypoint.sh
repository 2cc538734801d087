#!/bin/sh
# The Docker image's entry point. Schoolgate runs as uid 1000 ("node"), not root, and writes two
# places: its state folder (the database, downloaded lists, the CA), without which it cannot
# run, and the configuration folder, where the staff app saves the filter levels technicians
# change. A bind-mounted folder keeps its owner from the host (root, for a checkout made with
# sudo), so each is checked at every start, and the message says which chown fixes it.
set -eu

data=${SCHOOLGATE_DATA_DIR:-/app/data}
config=${SCHOOLGATE_CONFIG_DIR:-/app/config}
uid=$(id -u)
gid=$(id -g)

# -w alone trusts the mode bits; creating a file also catches a read-only mount.
writable() {
  [ -d "$1" ] && [ -w "$1" ] || return 1
  probe="$1/.schoolgate-write-test.$$"
  (: > "$probe") 2>/dev/null || return 1
  rm -f "$probe"
}

if ! writable "$data"; then
  echo "schoolgate: cannot write the state folder $data as uid $uid:$gid, so Schoolgate cannot start." >&2
  echo "  Give it to that user on the host, e.g. for a bind mount: sudo chown -R $uid:$gid ./data" >&2
  echo "  (the named volume of docker-compose.yml is created owned by it already)." >&2
  exit 1
fi

if ! writable "$config" || { [ -e "$config/default.yaml" ] && [ ! -w "$config/default.yaml" ]; }; then
  echo "schoolgate: warning: $config is not writable by uid $uid:$gid: filtering starts, but the staff app" >&2
  echo "  cannot save filter levels until it is. On the host, in the folder holding docker-compose.yml:" >&2
  echo "    sudo chown -R $uid:$gid config" >&2
fi

exec "$@"

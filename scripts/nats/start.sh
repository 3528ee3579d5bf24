#!/usr/bin/env bash
# start.sh - start a nats-server with JetStream on loopback for the bridge tests (idempotent).
#   scripts/nats/start.sh && eval "$(scripts/nats/env.sh)"     -> NATS_TEST_URL
# Installs Debian's nats-server when missing (needs root). Data: $NATS_HOME (/tmp/ami-fast-nats).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

if nats_running; then
  echo "nats-server already running (pid $(cat "$NATS_PIDFILE")) on $NATS_HOST:$NATS_PORT"
  exit 0
fi
if [ -z "$(nats_bin)" ]; then
  echo "installing nats-server (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nats-server >/dev/null
fi
BIN=$(nats_bin)
[ -n "$BIN" ] || { echo "nats: nats-server is not installed" >&2; exit 1; }
mkdir -p "$NATS_DATA"
# The Debian package may enable a system service; ours is separate (own port, own data dir).
nohup "$BIN" -a "$NATS_HOST" -p "$NATS_PORT" -js -sd "$NATS_DATA" -P "$NATS_PIDFILE" \
  -l "$NATS_LOG" </dev/null >/dev/null 2>&1 &
for _ in $(seq 1 100); do
  if nats_running && (exec 3<>"/dev/tcp/$NATS_HOST/$NATS_PORT") 2>/dev/null; then
    echo "nats-server $("$BIN" --version 2>/dev/null | head -1) running (pid $(cat "$NATS_PIDFILE")) on nats://$NATS_HOST:$NATS_PORT"
    exit 0
  fi
  sleep 0.1
done
echo "nats: nats-server did not start; log: $NATS_LOG" >&2
tail -n 20 "$NATS_LOG" >&2 || true
exit 1

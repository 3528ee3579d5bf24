#!/usr/bin/env bash
# stop.sh - stop the test nats-server started by start.sh (idempotent). --purge removes its data.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
if nats_running; then
  pid=$(cat "$NATS_PIDFILE")
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  echo "nats-server (pid $pid) stopped"
fi
rm -f "$NATS_PIDFILE"
if [ "${1:-}" = "--purge" ]; then rm -rf "$NATS_DATA"; fi

#!/usr/bin/env bash
# common.sh - shared settings of the test nats-server (sourced by start.sh, stop.sh, env.sh).
# Override with the environment: NATS_HOST (loopback only), NATS_PORT, NATS_HOME.
NATS_HOST=${NATS_HOST:-127.0.0.1}
NATS_PORT=${NATS_PORT:-14222}
NATS_HOME=${NATS_HOME:-/tmp/ami-fast-nats}
NATS_PIDFILE="$NATS_HOME/nats-server.pid"
NATS_LOG="$NATS_HOME/nats-server.log"
NATS_DATA="$NATS_HOME/jetstream"
case "$NATS_HOST" in
  127.*|::1|localhost) ;;
  *) echo "nats: NATS_HOST must be a loopback address, not $NATS_HOST" >&2; exit 2 ;;
esac

nats_bin() {
  command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; } || true
}

nats_running() {
  [ -f "$NATS_PIDFILE" ] && kill -0 "$(cat "$NATS_PIDFILE")" 2>/dev/null
}

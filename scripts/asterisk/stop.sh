#!/usr/bin/env bash
# stop.sh - stop the Asterisk that provision.sh started, by its recorded PID only.
# SIGTERM (Asterisk shuts down gracefully: it answers pending actions with errors), then
# SIGKILL after 15 s. `stop.sh --kill` sends SIGKILL at once, like a crash: connections drop
# with no answer. The chroot, configuration, TLS files and astdb stay; `provision.sh` starts it
# again in about a second.
set -euo pipefail
SCRIPT_NAME=stop
# shellcheck source=common.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

take_lock
signal=TERM
case "${1:-}" in
  --kill) signal=KILL ;;
  "") ;;
  *) echo "usage: $0 [--kill]" >&2; exit 2 ;;
esac

if ! pid=$(our_asterisk_pid); then
  rm -f "$PIDFILE"
  say "not running"
  exit 0
fi
# Gone, or a zombie: in containers whose PID 1 does not reap, it may stay one for ever.
alive() { [ -e "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; }

kill -"$signal" "$pid" 2>/dev/null || true
for _ in $(seq 150); do
  alive || break
  sleep 0.1
done
if alive; then
  say "pid $pid ignored SIGTERM for 15 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do alive || break; sleep 0.1; done
fi
rm -f "$PIDFILE" "$ROOT/run/asterisk/asterisk.ctl"
say "stopped asterisk (pid $pid, SIG$signal)"

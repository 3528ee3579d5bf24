# common.sh - shared settings for provision.sh, stop.sh, cli.sh and env.sh (sourced, not run).
# Everything lives under one home directory, so this rig never touches another Asterisk.
AMI_FAST_HOME=${AMI_FAST_ASTERISK_HOME:-/opt/ami-fast-asterisk}
ROOT=$AMI_FAST_HOME/root                 # the Debian chroot
DEBCACHE=$AMI_FAST_HOME/debcache         # downloaded .debs, reused by --rebuild
TLSDIR=$AMI_FAST_HOME/tls                # test CA + server certificate
STATEDIR=$AMI_FAST_HOME/state            # pid file, config hash
PIDFILE=$STATEDIR/asterisk.pid
HASHFILE=$STATEDIR/config.sha256
CONSOLE_LOG=$AMI_FAST_HOME/asterisk.log
AMI_HOST=127.0.0.1
AMI_PORT=5038
AMI_TLS_PORT=5039

say() { printf '[%s %(%H:%M:%S)T] %s\n' "${SCRIPT_NAME:-asterisk}" -1 "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

# Prints the PID and succeeds only if the pid file points at *our* asterisk binary
# (never signal a recycled PID or somebody else's Asterisk).
our_asterisk_pid() {
  local pid exe
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ "$exe" == "$ROOT/usr/sbin/asterisk" ]] || return 1
  # A zombie still has /proc/<pid> but is gone for our purposes.
  grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
  echo "$pid"
}

# One provision/stop at a time per home: concurrent restarts (two test runs) must not race.
# The lock is held until the script exits; nested calls (provision -> stop) inherit it.
take_lock() {
  [ -n "${AMI_FAST_ASTERISK_LOCKED:-}" ] && return 0
  mkdir -p "$STATEDIR"
  exec 8>"$STATEDIR/lock"
  if ! flock -w 300 8; then fail "another provision.sh/stop.sh held $STATEDIR/lock for 300 s"; fi
  export AMI_FAST_ASTERISK_LOCKED=1
}

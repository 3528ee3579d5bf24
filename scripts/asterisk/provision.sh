#!/usr/bin/env bash
# provision.sh - a real Asterisk 22 (Debian's `asterisk` package, from a sid chroot) for the
# functional tests, listening on loopback only:
#   AMI      127.0.0.1:5038
#   AMI/TLS  127.0.0.1:5039  (server certificate signed by a throw-away test CA)
#
# Idempotent: builds the chroot once (mmdebstrap; ~1 min), creates the CA once, installs the
# configuration from ./etc, starts Asterisk unless our instance already runs with the same
# configuration, waits until AMI answers (Login + FullyBooted), checks that nothing listens
# beyond loopback, and prints the Asterisk PID as the last line on stdout.
#
# Usage: provision.sh [--restart] [--kill] [--rebuild] [--fresh-db] [--env]
#   --restart   stop and start again even if nothing changed
#   --kill      with --restart: stop with SIGKILL, like a crash (no graceful shutdown)
#   --rebuild   rebuild the chroot (from the .deb cache when possible)
#   --fresh-db  empty the astdb (DBPut/DBGet store) before starting
#   --env       after starting, print `export AMI_TEST_...` lines instead of the PID
# Env: AMI_FAST_ASTERISK_HOME (default /opt/ami-fast-asterisk), AMI_FAST_ASTERISK_MIRROR
#      (default http://deb.debian.org/debian), AMI_FAST_ASTERISK_SUITE (default sid),
#      AMI_FAST_ASTERISK_WAIT (seconds to wait for AMI, default 60).
# Needs root (chroot, mount namespace). Stop it with stop.sh.
set -euo pipefail
SCRIPT_NAME=provision
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
MIRROR=${AMI_FAST_ASTERISK_MIRROR:-http://deb.debian.org/debian}
SUITE=${AMI_FAST_ASTERISK_SUITE:-sid}
WAIT_S=${AMI_FAST_ASTERISK_WAIT:-60}

restart=0 rebuild=0 fresh_db=0 print_env=0 stop_args=()
for arg in "$@"; do
  case "$arg" in
    --restart) restart=1 ;;
    --kill) stop_args=(--kill) ;;
    --rebuild) rebuild=1 restart=1 ;;
    --fresh-db) fresh_db=1 restart=1 ;;
    --env) print_env=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "provision.sh: unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || fail "needs root (chroot, mount namespace, mmdebstrap)"

# Refuse a configuration that would listen beyond loopback, before anything starts.
check_config_is_loopback() {
  local key value
  while IFS='=' read -r key value; do
    key=${key//[[:space:]]/}; value=${value//[[:space:]]/}
    case "$key" in
      bindaddr|tlsbindaddr)
        [[ "$value" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+(:[0-9]+)?$ ]] \
          || fail "etc/manager.conf: $key = $value is not a loopback address" ;;
      webenabled|httptimeout) [ "$key" != webenabled ] || [ "$value" = no ] \
          || fail "etc/manager.conf: webenabled must stay 'no'" ;;
    esac
  done < <(sed 's/;.*//' "$HERE/etc/manager.conf")
  grep -Eq '^[[:space:]]*autoload[[:space:]]*=[[:space:]]*no' "$HERE/etc/modules.conf" \
    || fail "etc/modules.conf must say autoload = no (autoloading opens public listeners)"
}

build_chroot() {
  if ! command -v mmdebstrap >/dev/null; then
    say "installing mmdebstrap"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2
  fi
  mkdir -p "$DEBCACHE"
  rm -rf "$ROOT.partial"
  say "building a $SUITE chroot with asterisk in $ROOT"
  local started=$SECONDS
  # Check-Valid-Until false: mirrors that serve a frozen snapshot have an expired Release file.
  # policy-rc.d: no maintainer script may start a daemon inside the chroot.
  # The sync-in/sync-out hooks keep the .debs so that --rebuild needs no download.
  mmdebstrap --variant=minbase --include=asterisk \
    --aptopt='APT::Install-Recommends "false"' \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --skip=download/empty --skip=essential/unlink \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in '$DEBCACHE' /var/cache/apt/archives/" \
    --essential-hook='printf "#!/bin/sh\nexit 101\n" >"$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"' \
    --customize-hook="sync-out /var/cache/apt/archives '$DEBCACHE'" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    "$SUITE" "$ROOT.partial" "$MIRROR" >&2
  [ -x "$ROOT.partial/usr/sbin/asterisk" ] || fail "the chroot has no /usr/sbin/asterisk"
  rm -rf "$ROOT"
  mv "$ROOT.partial" "$ROOT"
  chroot "$ROOT" dpkg-query -W -f='${Version}\n' asterisk >"$AMI_FAST_HOME/asterisk.version"
  say "chroot built in $((SECONDS - started)) s: asterisk $(cat "$AMI_FAST_HOME/asterisk.version")"
}

make_tls() {
  command -v openssl >/dev/null || fail "openssl is needed for the test CA"
  say "creating a test CA and server certificate in $TLSDIR"
  mkdir -p "$TLSDIR"
  (
    cd "$TLSDIR"
    umask 022
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj '/CN=ami-fast test CA' \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
      -keyout ami-ca.key -out ami-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -subj '/CN=localhost' \
      -keyout ami-server.key -out ami-server.csr 2>/dev/null
    printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
      'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:localhost,IP:127.0.0.1' >ami-server.ext
    openssl x509 -req -in ami-server.csr -CA ami-ca.crt -CAkey ami-ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile ami-server.ext -out ami-server.crt 2>/dev/null
    rm -f ami-server.csr ami-server.ext ami-ca.srl
    chmod 600 ami-ca.key ami-server.key
  )
}

install_config() {
  local dst=$ROOT/etc/asterisk
  # The package's own files would autoload ~360 modules (IAX on 0.0.0.0 among them): park them.
  if [ -d "$dst" ] && [ ! -e "$ROOT/etc/asterisk.debian" ]; then mv "$dst" "$ROOT/etc/asterisk.debian"; fi
  # <root>/var/run is an absolute link to /run: only ever touch $ROOT/run from the host.
  mkdir -p "$dst/keys" "$ROOT/run/asterisk" "$ROOT/var/log/asterisk" "$ROOT/var/lib/asterisk" \
    "$ROOT/var/spool/asterisk" "$ROOT/var/cache/asterisk"
  find "$dst" -maxdepth 1 -type f -delete
  cp "$HERE"/etc/*.conf "$dst/"
  cp "$TLSDIR/ami-server.crt" "$TLSDIR/ami-server.key" "$TLSDIR/ami-ca.crt" "$dst/keys/"
  chmod 600 "$dst/keys/ami-server.key"
  (cd "$dst" && sha256sum ./*.conf keys/*) | sha256sum | cut -d' ' -f1
}

start_asterisk() {
  local busy
  # A stopped Asterisk can still hold its listeners for a moment: stop.sh counts a zombie
  # thread-group leader as gone while its other threads are still closing their sockets.
  for _ in $(seq 50); do
    busy=$(ss -Hltn "( sport = :$AMI_PORT or sport = :$AMI_TLS_PORT )" 2>/dev/null || true)
    [ -n "$busy" ] || break
    sleep 0.2
  done
  [ -z "$busy" ] || fail "port $AMI_PORT or $AMI_TLS_PORT is already taken by another process: $busy"
  rm -f "$ROOT/run/asterisk/asterisk.ctl" "$ROOT/run/asterisk/asterisk.pid"
  if [ "$fresh_db" = 1 ]; then rm -f "$ROOT/var/lib/asterisk/astdb.sqlite3"; fi
  : >"$CONSOLE_LOG"
  say "starting asterisk"
  # A private mount namespace owns the chroot's /proc, so nothing stays mounted after exit.
  # setsid, unshare, sh and chroot all exec: $! is the asterisk process itself.
  setsid unshare --mount --propagation private -- /bin/sh -c '
      mount -t proc proc "$1/proc" || exit 1
      exec chroot "$1" /usr/sbin/asterisk -f -n -C /etc/asterisk/asterisk.conf' \
    sh "$ROOT" </dev/null >>"$CONSOLE_LOG" 2>&1 8>&- &   # 8>&-: Asterisk must not keep our lock
  echo "$!" >"$PIDFILE"
}

# One AMI round trip: banner, Login, Success, FullyBooted (Asterisk finished booting).
ami_answers() {
  local line ok=0
  { exec 7<>"/dev/tcp/$AMI_HOST/$AMI_PORT"; } 2>/dev/null || return 1
  if IFS= read -r -t 3 line <&7 && [[ "$line" == "Asterisk Call Manager/"* ]]; then
    printf 'Action: Login\r\nUsername: ami\r\nSecret: amipass\r\nEvents: system\r\n\r\n' >&7
    while IFS= read -r -t 3 line <&7; do
      line=${line%$'\r'}
      case "$line" in
        "Response: Success") ok=1 ;;
        "Response: Error") break ;;
        "Event: FullyBooted") if [ "$ok" = 1 ]; then ok=2; break; fi ;;
      esac
    done
    [ "$ok" = 2 ] && printf 'Action: Logoff\r\n\r\n' >&7
  fi
  exec 7>&-
  [ "$ok" = 2 ]
}

# Every TCP/UDP socket the process owns that is listening (or unconnected UDP) must be loopback.
check_listeners_are_loopback() {
  local pid=$1 inodes bad
  inodes=$(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | sort -u)
  [ -n "$inodes" ] || return 0
  # /proc/net/*: local address is hex; state 0A = LISTEN (tcp), 07 = unconnected (udp).
  bad=$(awk -v want="$(echo "$inodes" | tr '\n' ' ')" '
      BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) mine[w[i]] = 1 }
      FNR == 1 { next }
      ($4 == "0A" || $4 == "07") && ($10 in mine) {
        split($2, a, ":"); addr = a[1]
        if (length(addr) == 8 && substr(addr, 7, 2) == "7F") next              # 127.x.x.x
        if (addr == "00000000000000000000000001000000") next                    # ::1
        if (length(addr) == 32 && substr(addr, 9, 8) == "FFFF0000" && substr(addr, 31, 2) == "7F") next
        print FILENAME ": " $2
      }' /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6)
  if [ -n "$bad" ]; then
    "$HERE/stop.sh"
    fail "asterisk listened beyond loopback ($bad); stopped it - check etc/modules.conf"
  fi
}

check_config_is_loopback
mkdir -p "$AMI_FAST_HOME" "$STATEDIR"
take_lock
if [ "$rebuild" = 1 ] || [ ! -x "$ROOT/usr/sbin/asterisk" ]; then
  "$HERE/stop.sh"
  build_chroot
fi
[ -s "$TLSDIR/ami-ca.crt" ] && [ -s "$TLSDIR/ami-server.crt" ] && [ -s "$TLSDIR/ami-server.key" ] || make_tls
new_hash=$(install_config)

if pid=$(our_asterisk_pid) && [ "$restart" = 0 ] && [ "$(cat "$HASHFILE" 2>/dev/null)" = "$new_hash" ]; then
  say "asterisk already running (pid $pid) with the current configuration"
else
  "$HERE/stop.sh" "${stop_args[@]}"
  start_asterisk
  echo "$new_hash" >"$HASHFILE"
fi

started=$SECONDS
until ami_answers; do
  # Only "alive" here: right after the start the PID may still be setsid/unshare/chroot.
  pid=$(cat "$PIDFILE")
  if [ ! -e "/proc/$pid" ] || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
    tail -n 30 "$CONSOLE_LOG" >&2; rm -f "$PIDFILE"; fail "asterisk exited (log: $CONSOLE_LOG)"
  fi
  (( SECONDS - started < WAIT_S )) || fail "no AMI answer on $AMI_HOST:$AMI_PORT after ${WAIT_S} s (log: $CONSOLE_LOG)"
  sleep 0.2
done
pid=$(our_asterisk_pid) || fail "AMI answered but our asterisk is not running"
check_listeners_are_loopback "$pid"
say "AMI ready: tcp://$AMI_HOST:$AMI_PORT and tls://$AMI_HOST:$AMI_TLS_PORT (pid $pid)"
say "test CA: $TLSDIR/ami-ca.crt"
if [ "$print_env" = 1 ]; then "$HERE/env.sh"; else echo "$pid"; fi

#!/usr/bin/env bash
# cli.sh - run one Asterisk CLI command in the test instance:  cli.sh 'core show channels'
set -euo pipefail
# shellcheck source=common.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
[ "$#" -gt 0 ] || { echo "usage: $0 'cli command'" >&2; exit 2; }
exec chroot "$ROOT" /usr/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx "$*"

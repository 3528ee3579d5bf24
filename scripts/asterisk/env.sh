#!/usr/bin/env bash
# env.sh - print the environment that enables the functional tests against the test Asterisk.
#   eval "$(scripts/asterisk/env.sh)"      then   make test   (or .venv/bin/pytest tests/functional)
# AMI_TEST_RESTART is the command a test runs to restart Asterisk (it leaves it running).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
printf 'export AMI_TEST_URL=%q\n' "tcp://ami:amipass@$AMI_HOST:$AMI_PORT"
printf 'export AMI_TEST_TLS_URL=%q\n' "tls://ami:amipass@$AMI_HOST:$AMI_TLS_PORT"
printf 'export AMI_TEST_CA=%q\n' "$TLSDIR/ami-ca.crt"
# The home is spelled out so a test's subprocess restarts this very instance.
printf 'export AMI_TEST_RESTART=%q\n' "env AMI_FAST_ASTERISK_HOME=$AMI_FAST_HOME $HERE/provision.sh --restart"
printf 'export AMI_TEST_CLI=%q\n' "env AMI_FAST_ASTERISK_HOME=$AMI_FAST_HOME $HERE/cli.sh"

#!/usr/bin/env bash
# env.sh - print the environment that enables the bridge tests:  eval "$(scripts/nats/env.sh)"
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
printf 'export NATS_TEST_URL=%q\n' "nats://$NATS_HOST:$NATS_PORT"

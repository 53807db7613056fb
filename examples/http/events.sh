#!/usr/bin/env bash
# List events, optionally of one type or type prefix: events.sh [TYPE] (e.g. 'run.*', greeter-as.greeted)
set -euo pipefail
. "$(dirname "$0")/_common.sh"
curl -sS --fail-with-body -G "${auth[@]}" ${1:+--data-urlencode "type=$1"} "${PLUGHOST_URL}/v1/events"
echo

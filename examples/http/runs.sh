#!/usr/bin/env bash
# List run records, newest first, optionally of one plugin: runs.sh [PLUGIN]
set -euo pipefail
. "$(dirname "$0")/_common.sh"
curl -sS --fail-with-body "${auth[@]}" "${PLUGHOST_URL}/v1/runs${1:+?pluginId=$1}"
echo

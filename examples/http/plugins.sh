#!/usr/bin/env bash
# List the loaded plugins, or show one: plugins.sh [PLUGIN]
set -euo pipefail
. "$(dirname "$0")/_common.sh"
curl -sS --fail-with-body "${auth[@]}" "${PLUGHOST_URL}/v1/plugins${1:+/$1}"
echo

#!/usr/bin/env bash
# Upload (install and load) a signed plugin file: upload.sh build/greeter-as.wasm
# The server must trust the key that signed it. Replaces a loaded plugin of the same id
# only with a higher version, unless FORCE=1 (what `host dev` does).
set -euo pipefail
. "$(dirname "$0")/_common.sh"
file="${1:?usage: upload.sh PLUGIN.wasm}"
curl -sS --fail-with-body "${auth[@]}" -H "content-type: application/wasm" --data-binary "@${file}" \
  "${PLUGHOST_URL}/v1/plugins$([ "${FORCE:-0}" = 1 ] && echo '?force=true')"
echo

#!/usr/bin/env bash
# Call a capability: call.sh greeter-as greet '{"name":"Ada"}'
# Prints the output; the run id is in the x-run-id response header (shown with VERBOSE=1).
set -euo pipefail
. "$(dirname "$0")/_common.sh"
plugin="${1:?usage: call.sh PLUGIN CAPABILITY [JSON]}"
capability="${2:?usage: call.sh PLUGIN CAPABILITY [JSON]}"
body="${3:-}"
[ -n "$body" ] || body='{}'
curl -sS --fail-with-body "${auth[@]}" -H "content-type: application/json" --data "$body" \
  $([ "${VERBOSE:-0}" = 1 ] && echo -i) \
  "${PLUGHOST_URL}/v1/plugins/${plugin}/capabilities/${capability}"
echo

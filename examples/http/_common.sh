# Sourced by the scripts here: the server's URL and an API token, from the environment.
#   PLUGHOST_URL    default http://127.0.0.1:8787
#   PLUGHOST_TOKEN  a token from `host tokens create --scope admin` (or a narrower scope)
PLUGHOST_URL="${PLUGHOST_URL:-http://127.0.0.1:8787}"
if [ -z "${PLUGHOST_TOKEN:-}" ]; then
  echo "set PLUGHOST_TOKEN to an API token (host tokens create --scope admin)" >&2
  exit 64
fi
auth=(-H "authorization: Bearer ${PLUGHOST_TOKEN}")

/**
 * Reporting a run's progress (ABI 1.2): each call is a `run.progress` event
 * of the current run, streamed by `GET /v1/runs/{id}/stream` and printed by
 * `host run --follow` before the output. No permission is needed.
 * @module
 */

import { encodeRequest, finish, progress as progressCall } from "./host";
import { JSONObject, JSONValue } from "./json";
import { errFrom, ok, Result } from "./result";

/**
 * Reports progress: a message, a percentage (0-100; NaN for none) and any
 * JSON `data` (null for none). The error is the host's (e.g. `rate_limited`
 * past the run's event budget).
 */
export function progress(
  message: string,
  percent: f64 = NaN,
  data: JSONValue | null = null,
): Result<bool> {
  const body = new JSONObject().setString("message", message);
  if (!isNaN(percent)) body.setNumber("percent", percent);
  if (data !== null) body.set("data", data!);
  const req = encodeRequest(body);
  const r = finish(req, progressCall(req));
  if (!r.ok) return errFrom<bool>(r.error!);
  return ok<bool>(true);
}

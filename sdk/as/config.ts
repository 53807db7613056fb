/**
 * Reading the plugin's own config: the manifest's `config.default` with the
 * operator's values and overrides applied (docs/config.md). Read it in each
 * call: a change applies from the next run on, without a reload.
 * @module
 */

import { config_get, encodeRequest, finish } from "./host";
import { JSONNull, JSONObject, JSONValue } from "./json";
import { errFrom, ok, Result } from "./result";

/** The `config` functions. */
export class config {
  /** The whole config object. */
  static all(): Result<JSONValue> {
    return config.get("");
  }

  /** The value at a dotted key (`"smtp.port"`); `not_found` when absent; `""` for the whole config. */
  static get(key: string): Result<JSONValue> {
    const req = encodeRequest(new JSONObject().setString("key", key));
    const r = finish(req, config_get(req));
    if (!r.ok) return errFrom<JSONValue>(r.error!);
    const v = r.value.get("value");
    return ok<JSONValue>(v === null ? new JSONNull() : v!);
  }
}

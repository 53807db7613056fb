/**
 * Reading secrets the manifest declares in `permissions.secrets`. Keep the
 * value out of outputs, logs and events: the host redacts its own records,
 * not what a plugin chooses to print.
 * @module
 */

import { encodeRequest, finish, secret_get } from "./host";
import { JSONObject } from "./json";
import { err, errFrom, ok, Result } from "./result";

/** The `secrets` functions. */
export class secrets {
  /** The secret's value; `permission_denied` if undeclared, `not_found` if declared but unset. */
  static get(name: string): Result<string> {
    const req = encodeRequest(new JSONObject().setString("name", name));
    const r = finish(req, secret_get(req));
    if (!r.ok) return errFrom<string>(r.error!);
    const v = r.value.getString("value");
    if (v === null) {
      return err<string>(
        "host_error",
        "secret_get: response has no string value",
      );
    }
    return ok<string>(v!);
  }
}

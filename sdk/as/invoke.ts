/**
 * Calling another plugin's capability (listed in the manifest's
 * `permissions.invoke` as "plugin/capability"). The callee runs with its own
 * permissions and limits.
 * @module
 */

import { encodeRequest, finish, invoke as invokeImport } from "./host";
import { JSONNull, JSONObject, JSONValue } from "./json";
import { Result } from "./result";

/** Calls `plugin`'s `capability` with `input` (any JSON); the value is the callee's output JSON. */
export function invoke(
  plugin: string,
  capability: string,
  input: JSONValue = new JSONNull(),
): Result<JSONValue> {
  const req = encodeRequest(
    new JSONObject().setString("plugin", plugin).setString(
      "capability",
      capability,
    ).set("input", input),
  );
  return finish(req, invokeImport(req));
}

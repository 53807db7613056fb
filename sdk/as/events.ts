/**
 * Publishing events (topics the manifest's `permissions.events.publish`
 * patterns allow). The event is recorded with the current run's id.
 * @module
 */

import { encodeRequest, event_publish, finish } from "./host";
import { JSONNull, JSONObject, JSONValue } from "./json";
import { errFrom, ok, Result } from "./result";

/** The `events` functions. */
export class events {
  /** Publishes `payload` (any JSON value, default null) on `topic`; the value is the event id. */
  static publish(
    topic: string,
    payload: JSONValue = new JSONNull(),
  ): Result<string> {
    const req = encodeRequest(
      new JSONObject().setString("topic", topic).set("payload", payload),
    );
    const r = finish(req, event_publish(req));
    if (!r.ok) return errFrom<string>(r.error!);
    const id = r.value.getString("id");
    return ok<string>(id === null ? "" : id);
  }
}

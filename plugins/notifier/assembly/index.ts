// example.notifier: {"message": "..."} -> publishes notifier.sent {message, chars} and returns
// {"topic", "id"}. It needs the operator's NOTIFY_TOKEN secret (e.g. $PLUGHOST_SECRET_NOTIFY_TOKEN)
// and never outputs or logs the token itself.
import {
  events,
  fail,
  JSONNull,
  JSONObject,
  JSONString,
  log,
  secrets,
  tryReadInputJson,
  writeOutputJson,
} from "../../../sdk/as/index";

const TOPIC = "notifier.sent";

export function notify(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON: " + input.error!);
  const message = input.value!.getString("message");
  if (message === null || message!.length == 0) {
    return fail('input needs a non-empty string "message", e.g. {"message":"deployed"}');
  }
  const token = secrets.get("NOTIFY_TOKEN");
  if (!token.ok) {
    return fail("cannot notify without the NOTIFY_TOKEN secret: " + token.error!.toString());
  }
  const published = events.publish(
    TOPIC,
    new JSONObject().setString("message", message!).setNumber("chars", <f64> message!.length),
  );
  if (!published.ok) return fail(published.error!.toString());
  log.info("notified on " + TOPIC);
  const id = published.value;
  writeOutputJson(
    new JSONObject().setString("topic", TOPIC).set(
      "id",
      id.length > 0 ? new JSONString(id) : new JSONNull(),
    ),
  );
  return 0;
}

// @ts-nocheck: AssemblyScript, compiled by asc, not tsc.
// A test plugin for delivery chains. `on_event` publishes `relayed` (as plugin.<its id>.relayed)
// for every event it is delivered, naming the event it got. `forward` instead has the probe
// plugin `test.mid` publish it (a plugin-to-plugin call: the publish is the callee's run's).
import { events, fail, JSONArray, JSONObject, readInputJson } from "../../../sdk/as/index";
import { invoke } from "../../../sdk/as/invoke";

export function on_event(): i32 {
  const id = readInputJson().getString("id");
  const published = events.publish("relayed", new JSONObject().setString("from", id!));
  if (!published.ok) return fail(published.error!.toString());
  return 0;
}

export function forward(): i32 {
  const id = readInputJson().getString("id");
  const publish = new JSONObject().setString("fn", "event_publish").set(
    "req",
    new JSONObject().setString("topic", "relayed").set(
      "payload",
      new JSONObject().setString("from", id!),
    ),
  );
  const called = invoke("test.mid", "run", new JSONObject().set("ops", new JSONArray().push(publish)));
  if (!called.ok) return fail(called.error!.toString());
  return 0;
}

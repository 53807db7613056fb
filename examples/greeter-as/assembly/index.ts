import {
  events,
  fail,
  JSONObject,
  kv,
  log,
  tryReadInputJson,
  writeOutputJson,
} from "@plughost/sdk-as";

// greet {"name":"Ada"} -> {"message":"Hello, Ada!","greetings":1}; counts greetings in KV
// and publishes "greeter-as.greeted" for each.
export function greet(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON: " + input.error!);
  const field = input.value!.getString("name");
  if (field === null) return fail('input needs a string "name", e.g. {"name":"Ada"}');
  const name: string = field;

  const stored = kv.get("greetings");
  if (!stored.ok) return fail(stored.error!.toString()); // e.g. "permission_denied: ..."
  const greetings = stored.value === null ? 1 : I32.parseInt(stored.value!) + 1;
  const saved = kv.set("greetings", greetings.toString());
  if (!saved.ok) return fail(saved.error!.toString()); // e.g. "quota_exceeded: ..."

  const event = new JSONObject().setString("name", name).setNumber("greetings", <f64> greetings);
  const published = events.publish("greeter-as.greeted", event);
  if (!published.ok) return fail(published.error!.toString());
  log.info("greeted " + name);

  writeOutputJson(
    new JSONObject().setString("message", "Hello, " + name + "!").setNumber(
      "greetings",
      <f64> greetings,
    ),
  );
  return 0;
}

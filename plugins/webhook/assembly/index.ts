// example.webhook: a public webhook route. The host checks the route's params and body schemas
// and its rate limit before a run; each capability gets a RouteRequest and returns a RouteResponse
// (docs/routes.md).
//   POST /p/example.webhook/hooks/:source {"event": "...", "data": {...}}
//     -> 202 {"received": true, "source": "...", "count": n}; the delivery is kept as the latest.
//   GET /p/example.webhook/hooks/:source/latest[?data=false]
//     -> 200 {"source", "count", "event", "delivery", "data"} or 404 {"error": "..."}.
import { fail, kv, tryReadInputJson, writeOutputJson } from "../../../sdk/as/index";
import { JSONObject, JSONValue, parse } from "../../../sdk/as/json";

/** The request's `source` path parameter (the host checked it against the params schema). */
function sourceOf(request: JSONValue): string | null {
  const params = request.get("params");
  if (params === null) return null;
  return params.getString("source");
}

function respond(status: i32, body: JSONValue): i32 {
  writeOutputJson(new JSONObject().setNumber("status", <f64> status).set("body", body));
  return 0;
}

export function receive(): i32 {
  const input = tryReadInputJson();
  if (input.error !== null) return fail("input is not a RouteRequest: " + input.error!);
  const request = input.value!;
  const source = sourceOf(request);
  const body = request.get("body");
  if (source === null || body === null) return fail("input is not a RouteRequest");
  const counted = kv.get("count:" + source!);
  if (!counted.ok) return fail(counted.error!.toString());
  const count = counted.value === null ? 1 : I64.parseInt(counted.value!) + 1;
  const delivery = new JSONObject().set("body", body!);
  const headers = request.get("headers");
  let id: string | null = null;
  if (headers !== null) id = headers.getString("x-webhook-delivery");
  delivery.setStringOrNull("delivery", id);
  const kept = kv.set("last:" + source!, delivery.toString());
  if (!kept.ok) return fail(kept.error!.toString());
  const stored = kv.set("count:" + source!, count.toString());
  if (!stored.ok) return fail(stored.error!.toString());
  return respond(
    202,
    new JSONObject().setBool("received", true).setString("source", source!)
      .setNumber("count", <f64> count),
  );
}

export function latest(): i32 {
  const input = tryReadInputJson();
  if (input.error !== null) return fail("input is not a RouteRequest: " + input.error!);
  const request = input.value!;
  const source = sourceOf(request);
  if (source === null) return fail("input is not a RouteRequest");
  const last = kv.get("last:" + source!);
  if (!last.ok) return fail(last.error!.toString());
  if (last.value === null) {
    return respond(404, new JSONObject().setString("error", "no delivery from '" + source! + "' yet"));
  }
  const counted = kv.get("count:" + source!);
  if (!counted.ok) return fail(counted.error!.toString());
  const delivery = parse(last.value!);
  const body = delivery.get("body")!;
  const query = request.get("query");
  // The host coerced ?data=false to a boolean (the route's query schema).
  let withData = true;
  if (query !== null) withData = query.getBool("data", true);
  const answer = new JSONObject()
    .setString("source", source!)
    .setNumber("count", counted.value === null ? 0 : <f64> I64.parseInt(counted.value!))
    .setStringOrNull("event", body.getString("event"))
    .setStringOrNull("delivery", delivery.getString("delivery"));
  const data = body.get("data");
  if (withData && data !== null) answer.set("data", data!);
  return respond(200, answer);
}

// example.failure-counter: the event delivery example (docs/delivery.md).
// on_event (its hooks.onEvent export) is called by the host with each run.failed event as JSON
// ({"id", "type", "ts", "source", "pluginId", "runId", "correlationId", "payload"}) and adds 1
// to a count in KV; the capability `count` reads it. Delivery is at least once: an event may
// come twice after a host restart, so the count is "deliveries seen", and the last event id is
// kept to tell a repeat from a new one.
import { fail, inputBytes, kv, outputString, tryParseBytes } from "../../../sdk/as/index";

const COUNT = "count";
const LAST_EVENT = "last-event";
const LAST_RUN = "last-run";

/** The stored count, or -1 after failing the call. */
function current(): i64 {
  const stored = kv.get(COUNT);
  if (!stored.ok) {
    fail(stored.error!.toString());
    return -1;
  }
  if (stored.value === null) return 0;
  return I64.parseInt(stored.value!);
}

export function on_event(): i32 {
  const parsed = tryParseBytes(inputBytes());
  if (!parsed.ok || !parsed.value!.isObject) return fail("the input must be an event object");
  const event = parsed.value!;
  const id = event.getString("id");
  if (id === null) return fail('the event has no "id"');
  const count = current();
  if (count < 0) return 1;
  const stored = kv.set(COUNT, (count + 1).toString());
  if (!stored.ok) return fail(stored.error!.toString());
  const last = kv.set(LAST_EVENT, id!);
  if (!last.ok) return fail(last.error!.toString());
  // The failed run the event is about (null for a host-made event without one).
  const runId = event.getString("runId");
  const run = runId === null ? kv.delete(LAST_RUN) : kv.set(LAST_RUN, runId!);
  if (!run.ok) return fail(run.error!.toString());
  return 0;
}

export function count(): i32 {
  const n = current();
  if (n < 0) return 1;
  const lastEvent = kv.get(LAST_EVENT);
  const lastRun = kv.get(LAST_RUN);
  if (!lastEvent.ok) return fail(lastEvent.error!.toString());
  if (!lastRun.ok) return fail(lastRun.error!.toString());
  outputString(
    '{"count":' + n.toString() + ',"lastEventId":' + quoted(lastEvent.value) + ',"lastRunId":' +
      quoted(lastRun.value) + "}",
  );
  return 0;
}

function quoted(value: string | null): string {
  // Event and run ids are ULIDs: no character needs escaping.
  return value === null ? "null" : '"' + value! + '"';
}

// example.counter: a counter kept in the plugin's KV namespace.
// increment ({} or {"by": n}) -> the new count; get -> the count; reset -> whether it existed.
// Empty input counts as {}, so `host call counter.wasm increment` works without --input.
import { fail, inputBytes, kv, outputString, tryParseBytes } from "../../../sdk/as/index";

const KEY = "count";

/** The stored count, or -1 after failing the call. */
function current(): i64 {
  const stored = kv.get(KEY);
  if (!stored.ok) {
    fail(stored.error!.toString());
    return -1;
  }
  if (stored.value === null) return 0;
  return I64.parseInt(stored.value!);
}

export function increment(): i32 {
  let by: i64 = 1;
  const input = inputBytes();
  if (input.length > 0) {
    const parsed = tryParseBytes(input);
    if (!parsed.ok || !parsed.value!.isObject) return fail('input must be {} or {"by": n}');
    const n = parsed.value!.getNumber("by", 1);
    if (n < 1 || n > 1000000 || n != Math.floor(n)) {
      return fail('"by" must be an integer from 1 to 1000000');
    }
    by = <i64> n;
  }
  const count = current();
  if (count < 0) return 1;
  const next = count + by;
  const stored = kv.set(KEY, next.toString());
  if (!stored.ok) return fail(stored.error!.toString());
  outputString(next.toString());
  return 0;
}

export function get(): i32 {
  const count = current();
  if (count < 0) return 1;
  outputString(count.toString());
  return 0;
}

export function reset(): i32 {
  const removed = kv.delete(KEY);
  if (!removed.ok) return fail(removed.error!.toString());
  outputString(removed.value ? "true" : "false");
  return 0;
}

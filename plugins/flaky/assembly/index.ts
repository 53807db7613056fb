// example.flaky: fails on demand, to show the circuit breaker (docs/lifecycle.md).
// {"fail":true} -> a plugin_error; {} or {"fail":false} -> {"ok":true}. Three failures in a
// row open its breaker (manifest limits.breaker); after 2 s one probe call may close it again.
import { fail, tryReadInputJson, writeOutputJson } from "../../../sdk/as/io";
import { JSONObject } from "../../../sdk/as/json";

export function work(): i32 {
  const input = tryReadInputJson();
  if (input.error !== null) return fail("input is not valid JSON: " + input.error!);
  if (input.value!.getBool("fail")) return fail('failing on demand ({"fail":true})');
  writeOutputJson(new JSONObject().setBool("ok", true));
  return 0;
}

// The hooks have nothing to set up or flush; each call is still a run (trigger hook)
// the operator can see in 'host runs'.
export function on_load(): i32 {
  return 0;
}

export function on_shutdown(): i32 {
  return 0;
}

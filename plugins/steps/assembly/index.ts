// example.steps: counts to a number, reporting each step with progress() (ABI 1.2).
// {"to":3} -> progress "step 1" 33%, "step 2" 67%, "step 3" 100% -> {"counted":3}
import { fail, tryReadInputJson, writeOutputJson } from "../../../sdk/as/io";
import { JSONObject } from "../../../sdk/as/json";
import { log } from "../../../sdk/as/log";
import { progress } from "../../../sdk/as/progress";

export function count(): i32 {
  const input = tryReadInputJson();
  if (input.error !== null) return fail("input is not valid JSON: " + input.error!);
  const to = <i32>input.value!.getNumber("to", 0);
  if (to < 1) return fail('input needs an integer "to" of at least 1, e.g. {"to":3}');
  const given = input.value!.getString("label");
  const label = given === null ? "step" : given!;
  log.info("counting to " + to.toString());
  for (let i = 1; i <= to; i++) {
    const sent = progress(label + " " + i.toString(), Math.round(<f64>(i * 100) / <f64>to));
    if (!sent.ok) return fail("progress refused: " + sent.error!.message);
  }
  writeOutputJson(new JSONObject().setNumber("counted", <f64>to));
  return 0;
}

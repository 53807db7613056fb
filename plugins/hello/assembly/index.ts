// example.hello: greets people by name. {"name":"Zoë"} -> {"message":"Hello, Zoë!"}
import { fail, tryReadInputJson, writeOutputJson } from "../../../sdk/as/io";
import { JSONObject } from "../../../sdk/as/json";

export function greet(): i32 {
  const input = tryReadInputJson();
  if (input.error !== null) return fail("input is not valid JSON: " + input.error!);
  const name = input.value!.getString("name");
  if (name === null) return fail('input needs a string "name", e.g. {"name":"Zoë"}');
  writeOutputJson(new JSONObject().setString("message", "Hello, " + name! + "!"));
  return 0;
}

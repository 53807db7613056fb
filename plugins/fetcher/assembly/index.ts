// example.fetcher: {"url": "https://example.com/"} -> {"status": 200, "body": "..."}.
// Only hosts in permissions.http.allowedHosts are reachable, on every redirect hop too.
import { fail, http, JSONObject, tryReadInputJson, writeOutputJson } from "../../../sdk/as/index";

export function fetch(): i32 {
  const input = tryReadInputJson();
  if (!input.ok) return fail("input is not valid JSON: " + input.error!);
  const url = input.value!.getString("url");
  if (url === null) return fail('input needs a string "url", e.g. {"url":"https://example.com/"}');
  const response = http.get(url!);
  if (!response.ok) return fail(response.error!.toString());
  writeOutputJson(
    new JSONObject().setNumber("status", <f64> response.value.status).setString(
      "body",
      response.value.text(),
    ),
  );
  return 0;
}

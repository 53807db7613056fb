// @ts-nocheck: AssemblyScript (u64, nullable narrowing), compiled by asc, not tsc.
// A test plugin that does what its input says, to drive every host function from tests:
// {"ops": [{"fn": "kv_get", "req": {...}} | {"log": text} | {"logSecret": name}
//          | {"failSecret": name} | {"fail": text} | {"http": url}
//          | {"post": url, "body": text, "header": name, "value": v} (a POST with one header)
//          | {"leak": name, "topic": topic, "sink"?: plugin id} | {"secretIs": name, "value": v}]}
// "secretIs" answers whether the secret read equals `value` (the host redacts the value itself from
// outputs, so tests see what the plugin got this way).
// "leak" reads the secret and hands it to the host every way it can: an event payload (as a value
// and a key), a long log line (the value across the host's 8192-character cut), a KV value, the
// input of the sink plugin's "run" (which logs it), and the output.
// It outputs the JSON array of the raw host responses (and HTTP results) in order.
import {
  event_publish,
  invoke,
  kv_delete,
  kv_get,
  kv_list,
  kv_set,
  readBlock,
  secret_get,
} from "../../../sdk/as/host";
import { free } from "@extism/as-pdk/lib/env";
import { invoke as invokePlugin } from "../../../sdk/as/invoke";
import {
  events,
  fail,
  http,
  HttpRequest,
  JSONArray,
  JSONObject,
  kv,
  log,
  outputString,
  readInputJson,
  secrets,
  storeBytes,
  stringifyBytes,
  utf8Decode,
} from "../../../sdk/as/index";

function raw(fn: string, request: u64): u64 {
  if (fn == "kv_get") return kv_get(request);
  if (fn == "kv_set") return kv_set(request);
  if (fn == "kv_delete") return kv_delete(request);
  if (fn == "kv_list") return kv_list(request);
  if (fn == "event_publish") return event_publish(request);
  if (fn == "secret_get") return secret_get(request);
  if (fn == "invoke") return invoke(request);
  return 0;
}

export function run(): i32 {
  const ops = readInputJson().get("ops")!.asArray().items;
  const out = new Array<string>(0);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i].asObject();
    const fn = op.getString("fn");
    if (fn !== null) {
      const req = storeBytes(stringifyBytes(op.get("req")!));
      const res = raw(fn!, req);
      free(req);
      if (res == 0) return fail("unknown fn " + fn!);
      out.push(utf8Decode(readBlock(res)));
      free(res);
      continue;
    }
    const leak = op.getString("leak");
    if (leak !== null) {
      const value = secrets.get(leak!).unwrap();
      const payload = new JSONObject().setString("token", value).setNumber("k" + value, 1);
      const published = events.publish(op.getString("topic")!, payload);
      // The value starts at 8187: a cut before redaction would keep its first 5 characters.
      log.info("x".repeat(8180) + " token=" + value);
      log.warn("token=" + value);
      const stored = kv.set("stored", "v=" + value);
      const report = new JSONObject().setBool("published", published.ok).setBool(
        "stored",
        stored.ok,
      );
      const sink = op.getString("sink");
      if (sink !== null) {
        const line = new JSONObject().setString("log", value);
        const input = new JSONObject().set("ops", new JSONArray().push(line));
        report.setBool("invoked", invokePlugin(sink!, "run", input).ok);
      }
      out.push(report.setString("value", value).toString());
    }
    const secretIs = op.getString("secretIs");
    if (secretIs !== null) {
      const got = secrets.get(secretIs!);
      const same = got.ok && got.value == op.getString("value")!;
      out.push(new JSONObject().setBool("secretIs", same).toString());
    }
    const line = op.getString("log");
    if (line !== null) log.info(line!);
    const logSecret = op.getString("logSecret");
    if (logSecret !== null) log.warn("the token is " + secrets.get(logSecret!).unwrap());
    const failSecret = op.getString("failSecret");
    if (failSecret !== null) return fail("bad token " + secrets.get(failSecret!).unwrap());
    const message = op.getString("fail");
    if (message !== null) return fail(message!);
    const url = op.getString("http");
    const post = op.getString("post");
    if (url !== null || post !== null) {
      const r = post !== null
        ? http.fetch(
          new HttpRequest(post!, "POST").header(op.getString("header")!, op.getString("value")!)
            .text(op.getString("body")!),
        )
        : http.get(url!);
      out.push(
        r.ok
          ? new JSONObject().setNumber("status", <f64> r.value.status).setString(
            "body",
            r.value.text(),
          )
            .toString()
          : new JSONObject().setString("error", r.error!.toString()).toString(),
      );
    }
  }
  outputString("[" + out.join(",") + "]");
  return 0;
}

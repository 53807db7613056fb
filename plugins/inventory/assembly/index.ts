// example.inventory: implements the inventory@1 contract (docs/contracts.md) from a static
// list of hosts. {} -> {"items":[{"id":"web-1","name":"web-1.example.net","groups":["web"]},...]}
import { fail, tryReadInputJson, writeOutputJson } from "../../../sdk/as/io";
import { JSONArray, JSONObject, JSONValue, parse } from "../../../sdk/as/json";

// The list the plugin serves; a real provider would read a CMDB or a cloud API.
const HOSTS = `[
  {"id":"web-1","name":"web-1.example.net","groups":["web","prod"]},
  {"id":"web-2","name":"web-2.example.net","groups":["web","prod"]},
  {"id":"db-1","name":"db-1.example.net","groups":["db","prod"],"vars":{"engine":"postgres"}},
  {"id":"ci-1","name":"ci-1.example.net","groups":["ci"]}
]`;

function hosts(): JSONArray {
  return parse(HOSTS).asArray();
}

function inGroup(host: JSONValue, group: string): bool {
  const groups = host.get("groups");
  if (groups === null) return false;
  const list = groups!.asArray();
  for (let i = 0; i < list.length; i++) {
    if (list.at(i)!.asString() == group) return true;
  }
  return false;
}

/** Reads the input object ({} when empty); null after fail() for anything else. */
function input(): JSONValue | null {
  const read = tryReadInputJson();
  if (read.error !== null) {
    fail("input is not valid JSON: " + read.error!);
    return null;
  }
  return read.value!;
}

function answer(items: JSONArray, limit: f64): i32 {
  const out = new JSONArray();
  const most = isNaN(limit) ? items.length : <i32>limit;
  for (let i = 0; i < items.length && i < most; i++) out.push(items.at(i)!);
  writeOutputJson(new JSONObject().set("items", out));
  return 0;
}

export function list(): i32 {
  const args = input();
  if (args === null) return 1;
  return answer(hosts(), args!.getNumber("limit"));
}

export function get(): i32 {
  const args = input();
  if (args === null) return 1;
  const id = args!.getString("id");
  if (id === null) return fail('input needs a string "id", e.g. {"id":"web-1"}');
  const all = hosts();
  for (let i = 0; i < all.length; i++) {
    const host = all.at(i)!;
    if (host.getString("id") == id) {
      writeOutputJson(new JSONObject().setBool("found", true).set("item", host));
      return 0;
    }
  }
  writeOutputJson(new JSONObject().setBool("found", false));
  return 0;
}

export function groups(): i32 {
  const args = input();
  if (args === null) return 1;
  const names: string[] = [];
  const members = new Map<string, JSONArray>();
  const all = hosts();
  for (let i = 0; i < all.length; i++) {
    const host = all.at(i)!;
    const groups = host.get("groups");
    if (groups === null) continue;
    const list = groups!.asArray();
    for (let j = 0; j < list.length; j++) {
      const name = list.at(j)!.asString();
      if (!members.has(name)) {
        names.push(name);
        members.set(name, new JSONArray());
      }
      members.get(name).pushString(host.getString("id")!);
    }
  }
  const items = new JSONArray();
  for (let i = 0; i < names.length; i++) {
    items.push(new JSONObject().setString("name", names[i]).set("hosts", members.get(names[i])));
  }
  return answer(items, args!.getNumber("limit"));
}

export function filter(): i32 {
  const args = input();
  if (args === null) return 1;
  const group = args!.getString("group");
  const name = args!.getString("name");
  const all = hosts();
  const items = new JSONArray();
  for (let i = 0; i < all.length; i++) {
    const host = all.at(i)!;
    if (group !== null && !inGroup(host, group!)) continue;
    if (name !== null && !host.getString("name")!.includes(name!)) continue;
    items.push(host);
  }
  return answer(items, args!.getNumber("limit"));
}

/**
 * The plugin's own key-value namespace (needs `permissions.kv` in the
 * manifest). Keys and values are strings; sizes count their UTF-8 bytes
 * against the manifest's `quotaBytes`.
 * @module
 */

import { finish, kv_delete, kv_get, kv_list, kv_set } from "./host";
import { encodeRequest } from "./host";
import { JSONKind, JSONNull, JSONObject, JSONString } from "./json";
import { err, errFrom, ok, Result } from "./result";

/** One page of `kv.list`: keys in ascending UTF-8 byte order, and a cursor when more may follow. */
export class KvPage {
  constructor(
    public keys: Array<string>,
    public cursor: string | null,
  ) {}
}

/** Static methods (a class, so `kv.delete` can be a name). */
export class kv {
  /** The value stored under `key`, or null when there is none. */
  static get(key: string): Result<string | null> {
    const req = encodeRequest(new JSONObject().setString("key", key));
    const r = finish(req, kv_get(req));
    if (!r.ok) return errFrom<string | null>(r.error!);
    const v = r.value.get("value");
    if (v === null || v.kind == JSONKind.Null) return ok<string | null>(null);
    if (v.kind != JSONKind.String) {
      return err<string | null>("host_error", "kv_get: value is not a string");
    }
    return ok<string | null>(v.asString());
  }

  /** Stores `value` under `key` (replacing any old value). `quota_exceeded` when it would not fit. */
  static set(key: string, value: string): Result<bool> {
    const req = encodeRequest(
      new JSONObject().setString("key", key).setString("value", value),
    );
    const r = finish(req, kv_set(req));
    if (!r.ok) return errFrom<bool>(r.error!);
    return ok<bool>(true);
  }

  /** Removes `key`; the value is whether it existed. */
  static delete(key: string): Result<bool> {
    const req = encodeRequest(new JSONObject().setString("key", key));
    const r = finish(req, kv_delete(req));
    if (!r.ok) return errFrom<bool>(r.error!);
    return ok<bool>(r.value.getBool("deleted", false));
  }

  /**
   * One page of keys starting with `prefix` ("" for all), at most `limit`
   * (1-1000). Pass the returned cursor back (with the same prefix) for the
   * next page; it is null on the last page.
   */
  static list(
    prefix: string = "",
    cursor: string | null = null,
    limit: i32 = 100,
  ): Result<KvPage> {
    const body = new JSONObject().setString("prefix", prefix).setNumber(
      "limit",
      <f64> limit,
    );
    body.set(
      "cursor",
      cursor === null ? new JSONNull() : new JSONString(cursor!),
    );
    const req = encodeRequest(body);
    const r = finish(req, kv_list(req));
    if (!r.ok) return errFrom<KvPage>(r.error!);
    const keysValue = r.value.get("keys");
    if (keysValue === null || keysValue.kind != JSONKind.Array) {
      return err<KvPage>("host_error", "kv_list: response has no keys array");
    }
    const items = keysValue.asArray().items;
    const keys = new Array<string>(0);
    for (let i = 0; i < items.length; i++) {
      if (items[i].kind == JSONKind.String) keys.push(items[i].asString());
    }
    return ok<KvPage>(new KvPage(keys, r.value.getString("cursor")));
  }
}

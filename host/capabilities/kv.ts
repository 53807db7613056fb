/**
 * `kv_get`, `kv_set`, `kv_delete`, `kv_list`: the calling plugin's own
 * namespace, through the call's KV view (see kv-view.ts).
 * @module
 */
import { z } from "zod";
import type { HostCall, HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, wellFormed } from "./abi.ts";
import { denied } from "./audit.ts";
import { type CapabilityContext, grantsFor, syncFunction } from "./context.ts";
import type { KvView } from "./kv-view.ts";
import { holdsSecret, knownSecrets, redactText } from "./redact.ts";

const KeyRequest = z.object({ key: wellFormed });
const SetRequest = z.object({ key: wellFormed, value: wellFormed });
const ListRequest = z.object({
  prefix: wellFormed.optional(),
  cursor: wellFormed.nullable().optional(),
  limit: z.int().min(1).max(1000).optional(),
});

/** The four KV host functions over `ctx`. */
export function kvFunctions(ctx: CapabilityContext): Record<string, HostFunction> {
  /** The call's view, or a permission_denied result when KV is not granted. */
  const view = (call: HostCall, fn: string, asked: Record<string, string>): KvView | Uint8Array => {
    if (grantsFor(ctx, call).kvQuotaBytes === null) {
      return denied(ctx, call, fn, asked, "the manifest does not grant permissions.kv");
    }
    const found = ctx.views.get(call.runId);
    if (!found) throw new AbiError("host_error", `${fn}: no KV view for run ${call.runId}`);
    return found;
  };
  return {
    kv_get: syncFunction("kv_get", (call, input) => {
      const { key } = parseRequest("kv_get", input, KeyRequest);
      const v = view(call, "kv_get", { key });
      return v instanceof Uint8Array ? v : okResult({ value: v.get(key) });
    }),
    kv_set: syncFunction("kv_set", (call, input) => {
      const { key, value } = parseRequest("kv_set", input, SetRequest);
      const v = view(call, "kv_set", { key });
      if (v instanceof Uint8Array) return v;
      // A secret value is never stored: redacted in the value, refused in the key.
      const run = ctx.runs.get(call.runId);
      const secrets = knownSecrets(ctx, call.pluginId, run ? [run] : []);
      if (holdsSecret(key, secrets)) {
        throw new AbiError(
          "invalid_input",
          "kv_set: the key holds a secret value; keys are stored as is",
        );
      }
      v.set(key, redactText(value, secrets));
      return okResult(null);
    }),
    kv_delete: syncFunction("kv_delete", (call, input) => {
      const { key } = parseRequest("kv_delete", input, KeyRequest);
      const v = view(call, "kv_delete", { key });
      return v instanceof Uint8Array ? v : okResult({ deleted: v.delete(key) });
    }),
    kv_list: syncFunction("kv_list", (call, input) => {
      const req = parseRequest("kv_list", input, ListRequest);
      const prefix = req.prefix ?? "";
      const v = view(call, "kv_list", { prefix });
      return v instanceof Uint8Array
        ? v
        : okResult(v.list(prefix, req.cursor ?? null, req.limit ?? 100));
    }),
  };
}

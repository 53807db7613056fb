/**
 * An ABI-level harness for SDK tests: user-namespace host functions that
 * record the exact request JSON each call received and answer in the shapes
 * docs/abi.md fixes (a map for KV, a fixed grant list for the rest). It
 * checks the plugin side of the wire; the host's real capabilities are
 * tested in host/capabilities.
 * @module
 */
import { Buffer } from "node:buffer";
import createPlugin, { type CallContext, type Plugin } from "@extism/extism";
import { type LinearMemory, mainBulkIo, workerBulkIo } from "../../host/sandbox/bulk-io.ts";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | {
  [k: string]: Json;
};
/** Answers one request. */
type Handler = (req: Record<string, Json>) => Json;

/** Every request received, in order (tests clear it). */
export const requests: Array<{ fn: string; req: Json }> = [];
/** The KV contents (tests clear it). */
export const store = new Map<string, string>();
const utf8 = new TextEncoder();
const byteOrder = (a: string, b: string): number => Buffer.compare(utf8.encode(a), utf8.encode(b));

function denied(message: string): Json {
  return { error: { code: "permission_denied", message } };
}

const handlers: Record<string, Handler> = {
  kv_get: (r) => ({ ok: { value: store.get(String(r.key)) ?? null } }),
  kv_set: (r) => {
    store.set(String(r.key), String(r.value));
    return { ok: null };
  },
  kv_delete: (r) => ({ ok: { deleted: store.delete(String(r.key)) } }),
  kv_list: (r) => {
    const prefix = typeof r.prefix === "string" ? r.prefix : "";
    const limit = typeof r.limit === "number" ? r.limit : 100;
    const after = typeof r.cursor === "string" ? r.cursor : null;
    const keys = [...store.keys()].filter((k) => k.startsWith(prefix)).sort(
      byteOrder,
    )
      .filter((k) => after === null || byteOrder(k, after) > 0);
    const page = keys.slice(0, limit);
    return {
      ok: {
        keys: page,
        cursor: keys.length > limit ? page[page.length - 1]! : null,
      },
    };
  },
  event_publish: (r) =>
    String(r.topic).startsWith("example.") ? { ok: { id: "01JZ0000000000000000000000" } } : denied(
      `topic "${String(r.topic)}" is not in permissions.events.publish`,
    ),
  progress: (r): Json =>
    typeof r.percent === "number" && (r.percent < 0 || r.percent > 100)
      ? { error: { code: "invalid_input", message: 'progress: "percent" must be 0-100' } }
      : { ok: null },
  secret_get: (r) =>
    r.name === "API_TOKEN" ? { ok: { value: "s3cr3t-ü" } } : denied(
      `secret "${String(r.name)}" is not declared in permissions.secrets`,
    ),
  config_get: (r): Json => {
    const config: Record<string, Json> = {
      greeting: "Hej",
      smtp: { port: 2525 },
    };
    if (r.key === undefined || r.key === "") return { ok: { value: config } };
    const value = String(r.key).split(".").reduce<Json | undefined>(
      (at, k) => at !== null && typeof at === "object" && !Array.isArray(at) ? at[k] : undefined,
      config,
    );
    if (value === undefined) {
      return { error: { code: "not_found", message: `no key '${String(r.key)}'` } };
    }
    return { ok: { value } };
  },
  invoke: (r) =>
    r.plugin === "example.other" && r.capability === "greet"
      ? { ok: { echoed: r.input ?? null, by: "example.other" } }
      : denied(
        `"${String(r.plugin)}/${String(r.capability)}" is not in permissions.invoke`,
      ),
};

type UserFunction = (cx: CallContext, a: bigint, b: bigint) => bigint;

/**
 * The "extism:host/user" functions for createPlugin: the JSON host functions
 * and the bulk-copy ones answering "unavailable", as in Extism's worker mode,
 * so the SDKs take the 8-byte kernel path (see sdkPlugin for the bulk path).
 */
export function userFunctions(): Record<string, UserFunction> {
  const fns: Record<string, UserFunction> = { ...workerBulkIo() };
  for (const [fn, handle] of Object.entries(handlers)) {
    fns[fn] = (cx, h) => {
      const req = cx.read(h)?.json() as Record<string, Json>;
      requests.push({ fn, req });
      return cx.store(JSON.stringify(handle(req)));
    };
  }
  return fns;
}

/** Options of {@link sdkPlugin}: Extism's, plus which copy path the bulk functions allow. */
export interface SdkPluginOptions {
  /** "bulk": the host's main-thread bulk copies; "kernel": unavailable, so 8-byte kernel calls. */
  path?: "bulk" | "kernel";
  logger?: Console;
  logLevel?: "trace" | "debug" | "info" | "warn" | "error";
}

/**
 * A main-thread Extism plugin for an SDK-built module with the harness's host
 * functions, wired as the host's sandbox wires them (host/sandbox/bulk-io.ts).
 */
export async function sdkPlugin(
  wasm: Uint8Array,
  options: SdkPluginOptions = {},
): Promise<Plugin> {
  const linear: LinearMemory = { memory: undefined };
  const functions = {
    ...userFunctions(),
    ...(options.path === "kernel" ? {} : mainBulkIo(linear)),
  };
  const plugin = await createPlugin({ wasm: [{ data: wasm }] }, {
    useWasi: false,
    functions: { "extism:host/user": functions },
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
  const instance = await plugin.getInstance();
  linear.memory = Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory);
  return plugin;
}

/*
 * plughost.h: the plughost host ABI for C plugins built with clang for wasm32.
 *
 *   clang --target=wasm32-unknown-unknown -nostdlib -O2 -Wl,--no-entry \
 *     -Wl,--export=<capability> -I sdk/c -o plugin.wasm plugin.c
 *
 * Declares the host functions of wit/host.wit (module "extism:host/user"),
 * the bulk-copy functions of ABI 1.1 that the helpers use for input, output
 * and responses (falling back to the kernel's 8-byte calls where the host
 * answers PLUGHOST_BULK_UNAVAILABLE),
 * the Extism kernel functions a plugin needs (module "extism:host/env"), and
 * small inline helpers for input, output, errors, logs and JSON host calls.
 * Every host function takes a handle to a block holding a UTF-8 JSON request
 * and returns a new handle holding {"ok": ...} or {"error": {"code", "message"}};
 * see docs/abi.md. Needs no libc. Can be combined with Extism's extism-pdk.h
 * (the C names here all start with plughost_).
 */
#ifndef PLUGHOST_H
#define PLUGHOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An Extism memory handle (an offset in the kernel's memory; 0 means none). */
typedef uint64_t plughost_handle;

#define PLUGHOST_USER(name) __attribute__((import_module("extism:host/user"), import_name(#name)))
#define PLUGHOST_ENV(name) __attribute__((import_module("extism:host/env"), import_name(#name)))

/* ---- plughost host functions (wit/host.wit); request and response are JSON handles ---- */

/** {"key"} -> {"ok": {"value": string|null}} */
PLUGHOST_USER(kv_get) plughost_handle plughost_kv_get(plughost_handle request);
/** {"key", "value"} -> {"ok": null} */
PLUGHOST_USER(kv_set) plughost_handle plughost_kv_set(plughost_handle request);
/** {"key"} -> {"ok": {"deleted": bool}} */
PLUGHOST_USER(kv_delete) plughost_handle plughost_kv_delete(plughost_handle request);
/** {"prefix"?, "cursor"?, "limit"?} -> {"ok": {"keys": [...], "cursor": string|null}} */
PLUGHOST_USER(kv_list) plughost_handle plughost_kv_list(plughost_handle request);
/** {"topic", "payload"?} -> {"ok": {"id": string}} */
PLUGHOST_USER(event_publish) plughost_handle plughost_event_publish(plughost_handle request);
/** {"name"} -> {"ok": {"value": string}} */
PLUGHOST_USER(secret_get) plughost_handle plughost_secret_get(plughost_handle request);
/** {"plugin", "capability", "input"?} -> {"ok": <callee output JSON>} */
PLUGHOST_USER(invoke) plughost_handle plughost_invoke(plughost_handle request);
/** {"message"?, "percent"?, "data"?} -> {"ok": null}; a run.progress event of this run (ABI 1.2) */
PLUGHOST_USER(progress) plughost_handle plughost_progress(plughost_handle request);
/** {"key"?} -> {"ok": {"value": <JSON>}}: the plugin's config (all of it for no key or ""); not_found for an absent key */
PLUGHOST_USER(config_get) plughost_handle plughost_config_get(plughost_handle request);

/* ---- bulk copy (ABI 1.1, wit/host.wit `interface bulk-io`) ---- */

/** Answer of both bulk functions when the host cannot copy (worker mode): use the kernel path. */
#define PLUGHOST_BULK_UNAVAILABLE UINT64_MAX
/** Copies the whole block at handle into linear memory at dst; returns its length. */
PLUGHOST_USER(plughost_block_read) uint64_t plughost_block_read(plughost_handle handle, uint64_t dst);
/** Copies linear memory [src, src + len) into a new block; returns its handle. */
PLUGHOST_USER(plughost_block_write) plughost_handle plughost_block_write(uint64_t src, uint64_t len);

/* ---- Extism kernel functions ---- */

PLUGHOST_ENV(input_offset) plughost_handle plughost_input_offset(void);

PLUGHOST_ENV(input_length) uint64_t plughost_input_length(void);
PLUGHOST_ENV(input_load_u8) uint8_t plughost_input_load_u8(uint64_t offset);
PLUGHOST_ENV(input_load_u64) uint64_t plughost_input_load_u64(uint64_t offset);
PLUGHOST_ENV(alloc) plughost_handle plughost_alloc(uint64_t length);
PLUGHOST_ENV(free) void plughost_free(plughost_handle handle);
PLUGHOST_ENV(length) uint64_t plughost_length(plughost_handle handle);
PLUGHOST_ENV(load_u8) uint8_t plughost_load_u8(plughost_handle at);
PLUGHOST_ENV(load_u64) uint64_t plughost_load_u64(plughost_handle at);
PLUGHOST_ENV(store_u8) void plughost_store_u8(plughost_handle at, uint8_t value);
PLUGHOST_ENV(store_u64) void plughost_store_u64(plughost_handle at, uint64_t value);
PLUGHOST_ENV(output_set) void plughost_output_set(plughost_handle handle, uint64_t length);
PLUGHOST_ENV(error_set) void plughost_error_set(plughost_handle handle);
/** Logging: the kernel frees the block once logged. */
PLUGHOST_ENV(log_debug) void plughost_log_debug_handle(plughost_handle message);
PLUGHOST_ENV(log_info) void plughost_log_info_handle(plughost_handle message);
PLUGHOST_ENV(log_warn) void plughost_log_warn_handle(plughost_handle message);
PLUGHOST_ENV(log_error) void plughost_log_error_handle(plughost_handle message);
/** HTTP: request is a handle to {"url", "method"?, "headers"?}; body a handle or 0. Returns the body handle. */
PLUGHOST_ENV(http_request) plughost_handle plughost_http_request(plughost_handle request, plughost_handle body);
/** Status of the last http_request; 0 when it got no response. */
PLUGHOST_ENV(http_status_code) int32_t plughost_http_status_code(void);

/* ---- helpers ---- */

/** Length of a NUL-terminated string. */
static inline uint64_t plughost_strlen(const char *s) {
  uint64_t n = 0;
  while (s[n]) n++;
  return n;
}

/** Copies len bytes into a new block (one host call; 8 bytes per kernel call in worker mode). */
static inline plughost_handle plughost_store(const void *data, uint64_t len) {
  const uint8_t *p = (const uint8_t *)data;
  plughost_handle h = plughost_block_write((uint64_t)(uintptr_t)p, len);
  if (h != PLUGHOST_BULK_UNAVAILABLE) return h;
  h = plughost_alloc(len);
  uint64_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t word = 0;
    for (int b = 7; b >= 0; b--) word = (word << 8) | p[i + b];
    plughost_store_u64(h + i, word);
  }
  for (; i < len; i++) plughost_store_u8(h + i, p[i]);
  return h;
}

/** Copies a NUL-terminated string into a new block. */
static inline plughost_handle plughost_store_str(const char *s) {
  return plughost_store(s, plughost_strlen(s));
}

/** Copies up to cap bytes of a block into buf; returns the block's full length. */
static inline uint64_t plughost_load(plughost_handle h, void *buf, uint64_t cap) {
  uint8_t *p = (uint8_t *)buf;
  uint64_t len = plughost_length(h);
  if (len <= cap && plughost_block_read(h, (uint64_t)(uintptr_t)p) == len) return len;
  uint64_t n = len < cap ? len : cap;
  for (uint64_t i = 0; i < n; i++) p[i] = plughost_load_u8(h + i);
  return len;
}

/** Copies up to cap bytes of the call's input into buf; returns the input's full length. */
static inline uint64_t plughost_input(void *buf, uint64_t cap) {
  uint8_t *p = (uint8_t *)buf;
  uint64_t len = plughost_input_length();
  if (len <= cap && plughost_block_read(plughost_input_offset(), (uint64_t)(uintptr_t)p) == len) {
    return len;
  }
  uint64_t n = len < cap ? len : cap;
  for (uint64_t i = 0; i < n; i++) p[i] = plughost_input_load_u8(i);
  return len;
}

/** Sets the call's output to len bytes (UTF-8 JSON for a capability). */
static inline void plughost_output(const void *data, uint64_t len) {
  plughost_output_set(plughost_store(data, len), len);
}

/** Fails the call with a message; returns 1 so a capability can `return plughost_fail("...")`. */
static inline int32_t plughost_fail(const char *message) {
  plughost_error_set(plughost_store_str(message));
  return 1;
}

static inline void plughost_log_debug(const char *m) { plughost_log_debug_handle(plughost_store_str(m)); }
static inline void plughost_log_info(const char *m) { plughost_log_info_handle(plughost_store_str(m)); }
static inline void plughost_log_warn(const char *m) { plughost_log_warn_handle(plughost_store_str(m)); }
static inline void plughost_log_error(const char *m) { plughost_log_error_handle(plughost_store_str(m)); }

/**
 * Calls a host function with a JSON request string and copies the JSON
 * response into buf (NUL-terminated when it fits). Returns the response's
 * length, or -1 when it did not fit in cap - 1 bytes. Frees both blocks.
 *   char res[256];
 *   plughost_call(plughost_kv_get, "{\"key\":\"count\"}", res, sizeof res);
 */
static inline int64_t plughost_call(plughost_handle (*fn)(plughost_handle), const char *request,
                                    char *buf, uint64_t cap) {
  plughost_handle req = plughost_store_str(request);
  plughost_handle res = fn(req);
  plughost_free(req);
  if (res == 0) return -1;
  uint64_t len = plughost_load(res, buf, cap);
  plughost_free(res);
  if (len >= cap) return -1;
  buf[len] = 0;
  return (int64_t)len;
}

/**
 * Reports the run's progress (ABI 1.2): request is the JSON
 * {"message"?, "percent"?, "data"?}. Returns 1 when the host recorded it.
 *   plughost_progress_json("{\"message\":\"copied 3 of 4\",\"percent\":75}");
 */
static inline int plughost_progress_json(const char *request) {
  char res[256];
  int64_t len = plughost_call(plughost_progress, request, res, sizeof res);
  return len >= 0 && res[2] == 'o';
}

#ifdef __cplusplus
}
#endif

#endif /* PLUGHOST_H */

/* Test plugin for sdk/c/plughost.h: a KV counter, a JSON echo, logging and failure. */
#include "plughost.h"

/* Finds `"value":"` in a kv_get response and parses the decimal digits after it (0 if absent). */
static uint64_t stored_count(const char *res) {
  const char *pat = "\"value\":\"";
  for (const char *p = res; *p; p++) {
    const char *a = p, *b = pat;
    while (*b && *a == *b) a++, b++;
    if (*b) continue;
    uint64_t n = 0;
    while (*a >= '0' && *a <= '9') n = n * 10 + (uint64_t)(*a++ - '0');
    return n;
  }
  return 0;
}

static char *put_str(char *o, const char *s) {
  while (*s) *o++ = *s++;
  return o;
}

static char *put_u64(char *o, uint64_t n) {
  char tmp[20];
  int i = 0;
  do tmp[i++] = (char)('0' + n % 10), n /= 10; while (n);
  while (i) *o++ = tmp[--i];
  return o;
}

/* count: kv "count" += 1, output {"count":N}. */
__attribute__((export_name("count"))) int32_t count(void) {
  char res[256];
  if (plughost_call(plughost_kv_get, "{\"key\":\"count\"}", res, sizeof res) < 0)
    return plughost_fail("kv_get: response too large");
  if (res[2] == 'e') return plughost_fail(res); /* {"error":...} */
  uint64_t n = stored_count(res) + 1;
  char req[96], *o = req;
  o = put_str(o, "{\"key\":\"count\",\"value\":\"");
  o = put_u64(o, n);
  o = put_str(o, "\"}");
  *o = 0;
  if (plughost_call(plughost_kv_set, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  char out[64];
  o = put_str(out, "{\"count\":");
  o = put_u64(o, n);
  o = put_str(o, "}");
  plughost_output(out, (uint64_t)(o - out));
  return 0;
}

/* echo: input JSON -> {"echo": <input>} with the bytes untouched (UTF-8 passes through). */
__attribute__((export_name("echo"))) int32_t echo(void) {
  static char buf[4096];
  char *o = put_str(buf, "{\"echo\":");
  uint64_t len = plughost_input(o, sizeof buf - 16);
  if (len > sizeof buf - 16) return plughost_fail("input larger than 4080 bytes");
  o += len;
  o = put_str(o, "}");
  plughost_log_info("echo: done, Zoë");
  plughost_output(buf, (uint64_t)(o - buf));
  return 0;
}

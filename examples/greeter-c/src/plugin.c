#include "plughost.h"

/* The string value of "name" in a JSON object, as written (still escaped, so it can be copied
   into JSON output as is). A plain scan: enough for this plugin's flat input. */
static const char *name_field(const char *json, uint64_t len, uint64_t *out_len) {
  const char *key = "\"name\"";
  for (uint64_t i = 0; i + 6 < len; i++) {
    uint64_t k = 0;
    while (k < 6 && json[i + k] == key[k]) k++;
    if (k < 6) continue;
    uint64_t j = i + 6;
    while (j < len && (json[j] == ' ' || json[j] == '\n' || json[j] == '\t' || json[j] == '\r')) j++;
    if (j >= len || json[j] != ':') continue;
    j++;
    while (j < len && (json[j] == ' ' || json[j] == '\n' || json[j] == '\t' || json[j] == '\r')) j++;
    if (j >= len || json[j] != '"') return 0;
    uint64_t start = ++j;
    while (j < len && json[j] != '"') j += json[j] == '\\' ? 2 : 1;
    if (j >= len) return 0;
    *out_len = j - start;
    return json + start;
  }
  return 0;
}

/* The number after "value":" in a kv_get answer, or 0 when the key is absent (value null). */
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

static char *put(char *o, const char *s) {
  while (*s) *o++ = *s++;
  return o;
}

static char *put_n(char *o, const char *s, uint64_t n) {
  while (n--) *o++ = *s++;
  return o;
}

static char *put_u64(char *o, uint64_t n) {
  char tmp[20];
  int i = 0;
  do tmp[i++] = (char)('0' + n % 10), n /= 10; while (n);
  while (i) *o++ = tmp[--i];
  return o;
}

/* greet {"name":"Ada"} -> {"message":"Hello, Ada!","greetings":1}; counts greetings in KV
   and publishes "greeter-c.greeted" for each. */
__attribute__((export_name("greet"))) int32_t greet(void) {
  static char in[4096];
  char res[512], req[1024], out[1024], *o;
  uint64_t len = plughost_input(in, sizeof in);
  if (len > sizeof in) return plughost_fail("input is larger than 4096 bytes");
  uint64_t name_len = 0;
  const char *name = name_field(in, len, &name_len);
  if (name == 0) return plughost_fail("input needs a string \"name\", e.g. {\"name\":\"Ada\"}");
  if (name_len > 256) return plughost_fail("name is longer than 256 bytes");

  /* Every answer is {"ok":...} or {"error":{...}}: res[2] is 'o' or 'e'. */
  if (plughost_call(plughost_kv_get, "{\"key\":\"greetings\"}", res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  uint64_t greetings = stored_count(res) + 1;

  o = put(req, "{\"key\":\"greetings\",\"value\":\"");
  o = put_u64(o, greetings);
  o = put(o, "\"}");
  *o = 0;
  if (plughost_call(plughost_kv_set, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);

  o = put(req, "{\"topic\":\"greeter-c.greeted\",\"payload\":{\"name\":\"");
  o = put_n(o, name, name_len);
  o = put(o, "\",\"greetings\":");
  o = put_u64(o, greetings);
  o = put(o, "}}");
  *o = 0;
  if (plughost_call(plughost_event_publish, req, res, sizeof res) < 0 || res[2] == 'e')
    return plughost_fail(res);
  plughost_log_info("greeted");

  o = put(out, "{\"message\":\"Hello, ");
  o = put_n(o, name, name_len);
  o = put(o, "!\",\"greetings\":");
  o = put_u64(o, greetings);
  o = put(o, "}");
  plughost_output(out, (uint64_t)(o - out));
  return 0;
}

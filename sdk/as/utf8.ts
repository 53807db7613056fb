/**
 * UTF-8 conversions that behave like the web's TextEncoder and TextDecoder:
 * an unpaired surrogate encodes as U+FFFD, and each maximal invalid byte
 * sequence decodes to one U+FFFD (the WHATWG algorithm). The compiler's
 * `String.UTF8` decoder swallows bytes after an invalid lead byte (such as a
 * JSON string's closing quote), so the SDK does not use it for input.
 * @module
 */

/** The UTF-8 bytes of `s`; unpaired surrogates become U+FFFD (EF BF BD). */
export function utf8Encode(s: string): Uint8Array {
  const n = s.length;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) size += 1;
    else if (c < 0x800) size += 2;
    else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < n &&
      (s.charCodeAt(i + 1) & 0xfc00) == 0xdc00
    ) {
      size += 4;
      i++;
    } else size += 3;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = <u8> c;
    } else if (c < 0x800) {
      out[o++] = <u8> (0xc0 | (c >> 6));
      out[o++] = <u8> (0x80 | (c & 0x3f));
    } else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < n &&
      (s.charCodeAt(i + 1) & 0xfc00) == 0xdc00
    ) {
      const cp = 0x10000 + ((c - 0xd800) << 10) +
        (s.charCodeAt(i + 1) - 0xdc00);
      i++;
      out[o++] = <u8> (0xf0 | (cp >> 18));
      out[o++] = <u8> (0x80 | ((cp >> 12) & 0x3f));
      out[o++] = <u8> (0x80 | ((cp >> 6) & 0x3f));
      out[o++] = <u8> (0x80 | (cp & 0x3f));
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      out[o++] = <u8> (0xe0 | (c >> 12));
      out[o++] = <u8> (0x80 | ((c >> 6) & 0x3f));
      out[o++] = <u8> (0x80 | (c & 0x3f));
    }
  }
  return out;
}

/** The text of UTF-8 bytes (a view's offset and length are honoured); invalid sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  const n = bytes.length;
  // Every byte yields at most one UTF-16 code unit (a 4-byte sequence yields two).
  const units = new Uint16Array(n);
  let u = 0;
  let needed = 0;
  let seen = 0;
  let cp: u32 = 0;
  let lower: u32 = 0x80;
  let upper: u32 = 0xbf;
  for (let i = 0; i < n; i++) {
    const b = <u32> bytes[i];
    if (needed == 0) {
      if (b <= 0x7f) {
        units[u++] = <u16> b;
      } else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0) lower = 0xa0;
        if (b == 0xed) upper = 0x9f;
        needed = 2;
        cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0) lower = 0x90;
        if (b == 0xf4) upper = 0x8f;
        needed = 3;
        cp = b & 0x7;
      } else {
        units[u++] = 0xfffd;
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is one error; the byte starts afresh.
      needed = 0;
      seen = 0;
      lower = 0x80;
      upper = 0xbf;
      units[u++] = 0xfffd;
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen < needed) continue;
    if (cp > 0xffff) {
      const v = cp - 0x10000;
      units[u++] = <u16> (0xd800 | (v >> 10));
      units[u++] = <u16> (0xdc00 | (v & 0x3ff));
    } else {
      units[u++] = <u16> cp;
    }
    needed = 0;
    seen = 0;
  }
  if (needed != 0) units[u++] = 0xfffd;
  return String.UTF16.decodeUnsafe(units.dataStart, <usize> u << 1);
}

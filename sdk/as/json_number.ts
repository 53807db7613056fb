/**
 * Exact number conversions for the JSON module. AssemblyScript's own
 * `parseFloat` and `f64.toString` are off by an ulp (or worse) on some inputs,
 * so JSON numbers are converted here with exact decimal arithmetic: parsing is
 * correctly rounded (ties to even, overflow to Infinity), and formatting gives
 * JavaScript's `Number.prototype.toString` text (shortest round-trip digits,
 * closest and then even on ties). Common cases take a fast exact path.
 * @module
 */

/** A non-negative big integer, 32-bit limbs, least significant first. */
class Big {
  limbs: Array<u32> = [];

  static of(v: u64): Big {
    const b = new Big();
    while (v != 0) {
      b.limbs.push(<u32> (v & 0xffffffff));
      v >>= 32;
    }
    return b;
  }

  mulSmall(m: u32): void {
    let carry: u64 = 0;
    const l = this.limbs;
    for (let i = 0; i < l.length; i++) {
      const t = <u64> l[i] * <u64> m + carry;
      l[i] = <u32> (t & 0xffffffff);
      carry = t >> 32;
    }
    if (carry != 0) l.push(<u32> carry);
  }

  addSmall(v: u32): void {
    let carry: u64 = v;
    const l = this.limbs;
    for (let i = 0; i < l.length && carry != 0; i++) {
      const t = <u64> l[i] + carry;
      l[i] = <u32> (t & 0xffffffff);
      carry = t >> 32;
    }
    if (carry != 0) l.push(<u32> carry);
  }

  mulPow5(n: i32): void {
    while (n >= 13) {
      this.mulSmall(1220703125); // 5^13
      n -= 13;
    }
    let p: u32 = 1;
    while (n-- > 0) p *= 5;
    if (p != 1) this.mulSmall(p);
  }

  shl(bits: i32): void {
    if (this.limbs.length == 0) return;
    const words = bits >> 5;
    const r = bits & 31;
    if (r != 0) {
      let carry: u32 = 0;
      const l = this.limbs;
      for (let i = 0; i < l.length; i++) {
        const v = l[i];
        l[i] = (v << r) | carry;
        carry = v >> (32 - r);
      }
      if (carry != 0) l.push(carry);
    }
    if (words > 0) {
      const z = new Array<u32>(words);
      this.limbs = z.concat(this.limbs);
    }
  }

  /** Decimal digits (no leading zeros; "" for zero). */
  toDecimal(): string {
    const l = this.limbs.slice(0);
    let top = l.length;
    const chunks = new Array<string>();
    while (top > 0) {
      let rem: u64 = 0;
      for (let i = top - 1; i >= 0; i--) {
        const cur = (rem << 32) | <u64> l[i];
        l[i] = <u32> (cur / 1000000000);
        rem = cur % 1000000000;
      }
      chunks.push(rem.toString());
      while (top > 0 && l[top - 1] == 0) top--;
    }
    if (chunks.length == 0) return "";
    let s = chunks[chunks.length - 1];
    for (let i = chunks.length - 2; i >= 0; i--) {
      s += chunks[i].padStart(9, "0");
    }
    return s;
  }
}

function cmpBig(a: Big, b: Big): i32 {
  let n = a.limbs.length;
  let m = b.limbs.length;
  while (n > 0 && a.limbs[n - 1] == 0) n--;
  while (m > 0 && b.limbs[m - 1] == 0) m--;
  if (n != m) return n < m ? -1 : 1;
  for (let i = n - 1; i >= 0; i--) {
    const x = a.limbs[i];
    const y = b.limbs[i];
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The integer written by a string of decimal digits. */
function bigFromDigits(digits: string): Big {
  const b = new Big();
  const n = digits.length;
  let i = 0;
  let len = n % 9 == 0 ? 9 : n % 9;
  while (i < n) {
    let chunk: u32 = 0;
    let scale: u32 = 1;
    for (let j = 0; j < len; j++) {
      chunk = chunk * 10 + <u32> (digits.charCodeAt(i + j) - 0x30);
      scale *= 10;
    }
    b.mulSmall(scale);
    b.addSmall(chunk);
    i += len;
    len = 9;
  }
  return b;
}

/** A non-negative exact decimal: 0.DIGITS x 10^point, no leading or trailing zeros ("" is zero). */
class Dec {
  constructor(public digits: string, public point: i32) {}
}

function trimTrailing(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) == 0x30) end--;
  return digits.substring(0, end);
}

/** The exact decimal value of m x 2^e. */
function exact(m: u64, e: i32): Dec {
  if (m == 0) return new Dec("", 0);
  const b = Big.of(m);
  let s: string;
  let point: i32;
  if (e >= 0) {
    b.shl(e);
    s = b.toDecimal();
    point = s.length;
  } else {
    b.mulPow5(-e);
    s = b.toDecimal();
    point = s.length + e;
  }
  return new Dec(trimTrailing(s), point);
}

function compare(a: Dec, b: Dec): i32 {
  const az = a.digits.length == 0;
  const bz = b.digits.length == 0;
  if (az || bz) return az && bz ? 0 : (az ? -1 : 1);
  if (a.point != b.point) return a.point < b.point ? -1 : 1;
  const n = max(a.digits.length, b.digits.length);
  for (let i = 0; i < n; i++) {
    const x = i < a.digits.length ? a.digits.charCodeAt(i) : 0x30;
    const y = i < b.digits.length ? b.digits.charCodeAt(i) : 0x30;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Compares the decimal d with h x 2^f exactly, in integers (no decimal conversion). */
function compareWith(d: Dec, h: u64, f: i32): i32 {
  if (d.digits.length == 0) return h == 0 ? 0 : -1;
  const lhs = bigFromDigits(d.digits);
  const q = d.point - d.digits.length;
  const rhs = Big.of(h);
  if (q >= 0) lhs.mulPow5(q);
  else rhs.mulPow5(-q);
  const net = q - f;
  if (net >= 0) lhs.shl(net);
  else rhs.shl(-net);
  return cmpBig(lhs, rhs);
}

const MIN_NORMAL_M: u64 = 1 << 52;

/** Mantissa and exponent of a positive finite double: value = m x 2^e. */
function mantissa(bits: u64): u64 {
  const be = <i32> (bits >> 52) & 0x7ff;
  const frac = bits & 0xfffffffffffff;
  return be == 0 ? frac : frac | MIN_NORMAL_M;
}
function exponent(bits: u64): i32 {
  const be = <i32> (bits >> 52) & 0x7ff;
  return be == 0 ? -1074 : be - 1075;
}
/** Compares d with the midpoint between the double and its successor. */
function compareUpper(d: Dec, bits: u64): i32 {
  return compareWith(d, 2 * mantissa(bits) + 1, exponent(bits) - 1);
}
/** Compares d with the midpoint between the double and its predecessor (closer at a power of two). */
function compareLower(d: Dec, bits: u64): i32 {
  const m = mantissa(bits);
  const be = <i32> (bits >> 52) & 0x7ff;
  if (m == MIN_NORMAL_M && be > 1) {
    return compareWith(d, 4 * m - 1, exponent(bits) - 2);
  }
  return compareWith(d, 2 * m - 1, exponent(bits) - 1);
}

const POW10: StaticArray<f64> = [
  1e0,
  1e1,
  1e2,
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
  1e10,
  1e11,
  1e12,
  1e13,
  1e14,
  1e15,
  1e16,
  1e17,
  1e18,
  1e19,
  1e20,
  1e21,
  1e22,
];
const MAX_BITS: u64 = 0x7fefffffffffffff;

/** Correctly rounded value of a JSON number's text (the grammar is checked by the parser). */
export function parseNumber(text: string): f64 {
  let i = 0;
  const neg = text.charCodeAt(0) == 0x2d;
  if (neg) i++;
  const parts = new Array<string>();
  let start = i;
  let intLen = 0;
  while (
    i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39
  ) i++;
  intLen = i - start;
  parts.push(text.substring(start, i));
  if (i < text.length && text.charCodeAt(i) == 0x2e) {
    start = ++i;
    while (
      i < text.length && text.charCodeAt(i) >= 0x30 &&
      text.charCodeAt(i) <= 0x39
    ) i++;
    parts.push(text.substring(start, i));
  }
  let exp: i64 = 0;
  if (i < text.length) {
    i++; // e or E
    let eneg = false;
    const s = text.charCodeAt(i);
    if (s == 0x2b || s == 0x2d) {
      eneg = s == 0x2d;
      i++;
    }
    for (; i < text.length; i++) {
      // Saturate: anything past 1e6 is Infinity or zero anyway.
      if (exp < 1000000) exp = exp * 10 + <i64> (text.charCodeAt(i) - 0x30);
    }
    if (eneg) exp = -exp;
  }
  let digits = parts.join("");
  let point = <i32> (<i64> intLen + exp);
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) == 0x30) lead++;
  digits = trimTrailing(digits.substring(lead));
  point -= lead;
  const v = digits.length == 0 ? 0.0 : positive(new Dec(digits, point));
  return neg ? -v : v;
}

function positive(d: Dec): f64 {
  if (d.point > 310) return Infinity;
  if (d.point < -330) return 0;
  const used = min(d.digits.length, 19);
  let w: u64 = 0;
  for (let i = 0; i < used; i++) {
    w = w * 10 + <u64> (d.digits.charCodeAt(i) - 0x30);
  }
  let q = d.point - used;
  // Exact fast path (Clinger): both operands exact, one rounding.
  if (d.digits.length <= 15 && q >= -22 && q <= 22) {
    return q >= 0 ? <f64> w * POW10[q] : <f64> w / POW10[-q];
  }
  let f = <f64> w;
  while (q > 22) {
    f *= 1e22;
    q -= 22;
  }
  while (q < -22) {
    f /= 1e22;
    q += 22;
  }
  f = q >= 0 ? f * POW10[q] : f / POW10[-q];
  let bits: u64 = isFinite(f) ? reinterpret<u64>(f) : MAX_BITS;
  // Walk to the correctly rounded double, comparing against exact midpoints.
  while (true) {
    if (bits == 0) {
      if (compareWith(d, 1, -1075) > 0) {
        bits = 1;
        continue;
      }
      return 0;
    }
    const odd = (bits & 1) != 0;
    let c = compareUpper(d, bits);
    if (c > 0 || (c == 0 && odd)) {
      if (bits == MAX_BITS) return Infinity;
      bits++;
      continue;
    }
    c = compareLower(d, bits);
    if (c < 0 || (c == 0 && odd)) {
      bits--;
      continue;
    }
    return reinterpret<f64>(bits);
  }
  return 0;
}

/** The decimal with the first p digits of d, plus one unit in the last place when `up`. */
function cut(d: Dec, p: i32, up: bool): Dec {
  const head = d.digits.substring(0, p);
  if (!up) return new Dec(trimTrailing(head), d.point);
  const codes = new Array<i32>(p);
  for (let i = 0; i < p; i++) codes[i] = head.charCodeAt(i);
  let i = p - 1;
  while (i >= 0 && codes[i] == 0x39) {
    codes[i] = 0x30;
    i--;
  }
  if (i < 0) return new Dec("1", d.point + 1);
  codes[i]++;
  return new Dec(trimTrailing(String.fromCharCodes(codes)), d.point);
}

/**
 * Fast path for 1e-7 <= a < 1e15 when at most 15 digits suffice: for each
 * digit count, the nearest candidate s x 10^-k reads back exactly when
 * `s / 10^k == a` (s < 2^53 and 10^k exact: one correctly rounded operation).
 * Two candidates with at most 15 digits are further apart than a double's
 * rounding interval is wide, so the first that reads back is JavaScript's.
 */
function shortestFast(a: f64): Dec | null {
  if (!(a >= 1e-7 && a < 1e15)) return null;
  const e10 = <i32> Math.floor(Math.log10(a));
  for (let p = 1; p <= 15; p++) {
    const k = p - 1 - e10;
    if (k < -22 || k > 22) return null;
    const scaled = k >= 0 ? a * POW10[k] : a / POW10[-k];
    const s0 = Math.round(scaled);
    for (let d = -1; d <= 1; d++) {
      const s = s0 + <f64> d;
      if (s <= 0 || s >= 1e15) continue;
      const back = k >= 0 ? s / POW10[k] : s * POW10[-k];
      if (back == a) {
        const text = (<u64> s).toString();
        return new Dec(trimTrailing(text), text.length - k);
      }
    }
  }
  return null;
}

/** Shortest digits that read back as the double (JavaScript's choice among them). */
function shortest(bits: u64): Dec {
  const a = reinterpret<f64>(bits);
  const fast = shortestFast(a);
  if (fast !== null) return fast;
  // Inside the fast path's range, failing it means more than 15 digits.
  const first = a >= 1e-7 && a < 1e15 ? 16 : 1;
  const v = exact(mantissa(bits), exponent(bits));
  const inclusive = (bits & 1) == 0;
  for (let p = first; p <= 17; p++) {
    if (v.digits.length <= p) return v;
    const down = cut(v, p, false);
    const up = cut(v, p, true);
    let c = compareLower(down, bits);
    const downOk = c > 0 || (c == 0 && inclusive);
    c = compareUpper(up, bits);
    const upOk = c < 0 || (c == 0 && inclusive);
    if (downOk && upOk) {
      // Closer one wins; on a tie the even last digit.
      c = compare(v, new Dec(v.digits.substring(0, p) + "5", v.point));
      if (c < 0) return down;
      if (c > 0) return up;
      return ((v.digits.charCodeAt(p - 1) - 0x30) & 1) == 0 ? down : up;
    }
    if (downOk) return down;
    if (upOk) return up;
  }
  return v;
}

/** Formats a number as JavaScript does (`String(n)`), `null` when not finite (as JSON.stringify). */
export function formatNumber(n: f64): string {
  if (!isFinite(n)) return "null";
  if (n == 0) return "0";
  // Integers below 2^53 print exactly as their digits.
  if (Math.abs(n) < 9007199254740992.0 && Math.floor(n) == n) {
    return (<i64> n).toString();
  }
  const neg = n < 0;
  const d = shortest(reinterpret<u64>(neg ? -n : n));
  const digits = d.digits;
  const k = digits.length;
  const point = d.point;
  let r: string;
  if (point >= k && point <= 21) {
    r = digits + "0".repeat(point - k);
  } else if (point > 0 && point <= 21) {
    r = digits.substring(0, point) + "." + digits.substring(point);
  } else if (point > -6 && point <= 0) {
    r = "0." + "0".repeat(-point) + digits;
  } else {
    const e = point - 1;
    const es = e < 0 ? "-" + (-e).toString() : "+" + e.toString();
    r = k == 1
      ? digits + "e" + es
      : digits.charAt(0) + "." + digits.substring(1) + "e" + es;
  }
  return neg ? "-" + r : r;
}

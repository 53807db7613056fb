/**
 * Two things JSON.parse accepts that the host refuses in JSON it is sent:
 * nesting deeper than {@link MAX_JSON_DEPTH} (the host's own recursive
 * handling, JSON.stringify included, overflowed its stack on ~5,000 levels:
 * a 500 for a client's request), and an object with the same key twice
 * (JSON.parse keeps the last, a plugin's parser may keep the first: the input
 * schema would have checked a value the plugin never reads).
 * @module
 */

/** The deepest nesting of arrays and objects the host reads in a JSON value. */
export const MAX_JSON_DEPTH = 256;

/**
 * What is wrong with the shape of `text`, a JSON text that parsed to `value`
 * ("nests ...", "has an object ..."), or undefined when nothing is.
 */
export function jsonShapeProblem(text: string, value: unknown): string | undefined {
  const { depth, members } = scan(text);
  if (depth > MAX_JSON_DEPTH) {
    return `nests arrays and objects ${depth} levels deep, more than the ${MAX_JSON_DEPTH} the host reads`;
  }
  // Each member of an object has exactly one ':' outside strings; a key given twice is one
  // member fewer in the parsed value.
  if (members > 0 && members !== memberCount(value)) {
    return "has an object with the same key twice: send each key once";
  }
  return undefined;
}

/** Nesting depth and ':' count outside strings, of a text known to be JSON. */
function scan(text: string): { depth: number; members: number } {
  let depth = 0;
  let deepest = 0;
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > deepest) deepest = depth;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === COLON) {
      members++;
    }
  }
  return { depth: deepest, members };
}

/** The index of the quote that closes the string opening at `start` (an escaped one does not). */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length; // not JSON: JSON.parse refused it before
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** Members of every object in a parsed JSON value, without recursion. */
function memberCount(value: unknown): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next !== "object" || next === null) continue;
    if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
      continue;
    }
    for (const key in next) {
      count++;
      pending.push((next as Record<string, unknown>)[key]);
    }
  }
  return count;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

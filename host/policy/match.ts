/**
 * Pattern coverage for the policy: does a policy pattern allow everything a
 * manifest pattern could name? Plugin ids and topics share one glob syntax
 * (dot-separated, `*` one segment, a final `**` one or more); host patterns
 * are in host-pattern.ts.
 * @module
 */

/** Whether the dotted glob `pattern` matches the concrete `name`. */
export function globMatches(pattern: string, name: string): boolean {
  return covers(pattern, name);
}

/** Whether every name matched by dotted glob `inner` is matched by `outer`. */
export function covers(outer: string, inner: string): boolean {
  const o = outer.split(".");
  const i = inner.split(".");
  for (let k = 0; k < o.length; k++) {
    const seg = o[k];
    if (seg === "**" && k === o.length - 1) return i.length > k;
    if (k >= i.length) return false;
    const s = i[k];
    if (seg === "*") {
      if (s === "**") return false;
      continue;
    }
    if (seg !== s) return false;
  }
  return o.length === i.length;
}

/** How specific an id pattern is (more literal segments, fewer wildcards), for ordering overrides. */
export function specificity(pattern: string): number {
  const segments = pattern.split(".");
  const literal = segments.filter((s) => s !== "*" && s !== "**").length;
  return literal * 4 - segments.filter((s) => s === "**").length * 2 -
    segments.filter((s) => s === "*").length + (literal === segments.length ? 1000 : 0);
}

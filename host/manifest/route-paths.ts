/**
 * Route path patterns of manifest `routes` (`/hooks/:source`): parsing, and
 * the overlap rule that refuses two routes of one plugin that could answer
 * the same request. Pure functions, used by the manifest schema (so install,
 * sign and verify all refuse a conflict) and by the core's route matcher.
 * @module
 */

/** One segment of a path pattern: a literal, or a `:name` parameter. */
export type PathSegment = { literal: string } | { param: string };

/** A literal segment: URL-safe characters only (no percent-encoding, no `:` or `*`). */
export const literalSegment = /^[A-Za-z0-9._~-]+$/;
/** A parameter name after `:`. */
export const paramName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses `/a/:b/c` into segments. `/` is the plugin's root (no segments).
 * Throws an Error saying what is wrong with the pattern.
 */
export function parseRoutePath(path: string): PathSegment[] {
  if (!path.startsWith("/")) throw new Error("must start with '/'");
  if (path === "/") return [];
  const parts = path.slice(1).split("/");
  const seen = new Set<string>();
  return parts.map((part, i) => {
    if (part === "") {
      throw new Error(
        i === parts.length - 1 ? "must not end with '/'" : "must not contain an empty segment '//'",
      );
    }
    if (part.startsWith(":")) {
      const name = part.slice(1);
      if (!paramName.test(name)) {
        throw new Error(`parameter '${part}' must be ':' and a name of letters, digits and '_'`);
      }
      if (seen.has(name)) throw new Error(`parameter ':${name}' appears twice`);
      seen.add(name);
      return { param: name };
    }
    if (!literalSegment.test(part)) {
      throw new Error(`segment '${part}' may use only letters, digits and . _ ~ -`);
    }
    return { literal: part };
  });
}

/** The parameter names of a parsed pattern, in order. */
export function paramNames(segments: readonly PathSegment[]): string[] {
  return segments.flatMap((s) => "param" in s ? [s.param] : []);
}

/**
 * Whether some request path matches both patterns: same length, and at each
 * position equal literals or a parameter on either side. `/hooks/:a` and
 * `/hooks/:b` are the same route; `/hooks/:source` and `/hooks/github` are
 * ambiguous. Both are refused rather than resolved by a precedence rule the
 * author would have to know.
 */
export function pathsOverlap(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((s, i) => {
    const t = b[i]!;
    return "param" in s || "param" in t || s.literal === t.literal;
  });
}

/** `/hooks/:source` -> `/hooks/{source}` (OpenAPI's path template). */
export function openApiPath(segments: readonly PathSegment[]): string {
  return "/" + segments.map((s) => "param" in s ? `{${s.param}}` : s.literal).join("/");
}

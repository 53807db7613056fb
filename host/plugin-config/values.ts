/**
 * Plugin config values as data: layering (default <- base <- overlay <- env),
 * dotted keys (`smtp.port`) as paths, and `key=value` text as JSON.
 * @module
 */
import { HostError } from "../errors.ts";

/** A plugin's config: a JSON object. */
export type ConfigValues = Record<string, unknown>;

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Layers config objects, later ones winning: objects merge key by key, any
 * other value (arrays included) replaces. Layers that are not objects are skipped.
 */
export function mergeConfig(...layers: unknown[]): ConfigValues {
  let out: ConfigValues = {};
  for (const layer of layers) if (isObject(layer)) out = mergeTwo(out, layer);
  return out;
}

function mergeTwo(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = Object.hasOwn(out, key) ? out[key] : undefined;
    putOwn(out, key, isObject(prev) && isObject(value) ? mergeTwo(prev, value) : value);
  }
  return out;
}

/**
 * Sets an own property, even one named `__proto__` (JSON.parse makes such
 * keys; a plain assignment would replace the object's prototype instead).
 */
export function putOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** `"smtp.port"` -> `["smtp", "port"]`; throws `invalid_input` for an empty segment. */
export function keyPath(key: string): string[] {
  const path = key.split(".");
  if (key === "" || path.some((s) => s === "")) {
    throw new HostError(
      "invalid_input",
      `'${key}' is not a config key: use names joined by dots, like 'smtp.port'`,
    );
  }
  for (const segment of path) {
    if (segment === "__proto__") {
      throw new HostError("invalid_input", `'${key}': '__proto__' is not a usable key`);
    }
  }
  return path;
}

/** JSON Pointer of a path: `["smtp", "port"]` -> `/smtp/port`. */
export function pointerOf(path: readonly string[]): string {
  return path.map((s) => "/" + s.replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

/** The value at `path`, or undefined. */
export function getPath(values: unknown, path: readonly string[]): unknown {
  let at: unknown = values;
  for (const segment of path) {
    if (!isObject(at) || !Object.hasOwn(at, segment)) return undefined;
    at = at[segment];
  }
  return at;
}

/** A copy of `values` with `value` at `path` (objects created on the way, non-objects replaced). */
export function setPath(
  values: ConfigValues,
  path: readonly string[],
  value: unknown,
): ConfigValues {
  const [head, ...rest] = path;
  if (head === undefined) return isObject(value) ? value : values;
  const child = Object.hasOwn(values, head) ? values[head] : undefined;
  return {
    ...values,
    [head]: rest.length === 0 ? value : setPath(isObject(child) ? child : {}, rest, value),
  };
}

/** A copy of `values` without `path`; `removed` says whether it was there. */
export function unsetPath(
  values: ConfigValues,
  path: readonly string[],
): { values: ConfigValues; removed: boolean } {
  const [head, ...rest] = path;
  if (head === undefined || !Object.hasOwn(values, head)) return { values, removed: false };
  if (rest.length === 0) {
    const { [head]: _gone, ...kept } = values;
    return { values: kept, removed: true };
  }
  const child = values[head];
  if (!isObject(child)) return { values, removed: false };
  const inner = unsetPath(child, rest);
  return inner.removed
    ? { values: { ...values, [head]: inner.values }, removed: true }
    : { values, removed: false };
}

/** The sub-schema of the value at `path` (through `properties`), if the schema says. */
export function schemaAt(
  schema: Record<string, unknown> | undefined,
  path: readonly string[],
): Record<string, unknown> | undefined {
  let at: unknown = schema;
  for (const segment of path) {
    const properties = isObject(at) ? at.properties : undefined;
    if (!isObject(properties) || !isObject(properties[segment])) return undefined;
    at = properties[segment];
  }
  return isObject(at) ? at : undefined;
}

/**
 * A value given as text (`key=value`, an environment variable): JSON when it
 * parses (`8080`, `true`, `["a"]`, `"quoted"`), else the text itself as a
 * string. Where the schema types the field `string` (only), the text is taken
 * as it is, so `port=8080` for a string field stays `"8080"`.
 */
export function parseValue(text: string, schema: Record<string, unknown> | undefined): unknown {
  if (schema?.type === "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

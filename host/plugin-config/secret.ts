/**
 * Secret config fields: a field whose schema says `"writeOnly": true` (the
 * JSON Schema annotation for values that are written and never read back) is
 * the plugin's to read through `config_get`, and nobody else's: `GET` of the
 * config, `host config get` and history, and `plugin.config_changed` events
 * show `"[redacted]"` in its place.
 * @module
 */
import { type ConfigValues, isObject } from "./values.ts";

/** What a redacted value reads as. */
export const REDACTED = "[redacted]";

/** Paths of the fields marked `writeOnly: true` (through nested `properties`). */
export function secretPaths(schema: Record<string, unknown> | undefined): string[][] {
  const out: string[][] = [];
  const walk = (at: unknown, path: string[]) => {
    if (!isObject(at)) return;
    if (at.writeOnly === true && path.length > 0) {
      out.push(path);
      return;
    }
    if (isObject(at.properties)) {
      for (const [key, sub] of Object.entries(at.properties)) walk(sub, [...path, key]);
    }
  };
  walk(schema, []);
  return out;
}

/** A copy of `values` with every secret field present replaced by `"[redacted]"`. */
export function redactConfig(
  values: ConfigValues,
  schema: Record<string, unknown> | undefined,
): ConfigValues {
  let out = values;
  for (const path of secretPaths(schema)) out = redactAt(out, path);
  return out;
}

function redactAt(values: Record<string, unknown>, path: readonly string[]): ConfigValues {
  const [head, ...rest] = path;
  if (head === undefined || !Object.hasOwn(values, head)) return values;
  const child = values[head];
  if (rest.length === 0) return { ...values, [head]: REDACTED };
  return isObject(child) ? { ...values, [head]: redactAt(child, rest) } : values;
}

/**
 * The effective config as Extism's kernel config (`extism:host/env`
 * `config_get`, what the PDKs' `Config.get(key)` reads): a flat map of plain
 * strings. docs/config.md ("Extism's config") documents the mapping.
 * @module
 */
import { type ConfigValues, isObject } from "./values.ts";

/**
 * Every top-level key, plus every nested object member under its dotted key
 * (`smtp.port`, as the host function `config_get` spells it). A string is
 * its text; any other JSON value (number, boolean, null, array, object) is
 * its JSON text. A top-level key that itself contains a dot wins over a
 * dotted path spelling the same name; nested names that a dotted key cannot
 * address (empty, containing a dot, `__proto__`) are only in their parent's
 * JSON text.
 */
export function kernelConfig(values: ConfigValues): Record<string, string> {
  // No prototype: Extism looks keys up with `in`, which would find `toString` on a plain object.
  const out: Record<string, string> = Object.create(null);
  const nested: [string, string][] = [];
  const walk = (prefix: string, value: Record<string, unknown>) => {
    for (const [key, member] of Object.entries(value)) {
      if (key === "" || key.includes(".") || key === "__proto__") continue;
      const name = `${prefix}.${key}`;
      nested.push([name, text(member)]);
      if (isObject(member)) walk(name, member);
    }
  };
  for (const [key, value] of Object.entries(values)) {
    out[key] = text(value);
    if (isObject(value) && key !== "" && !key.includes(".") && key !== "__proto__") {
      walk(key, value);
    }
  }
  for (const [name, value] of nested) if (!Object.hasOwn(out, name)) out[name] = value;
  return out;
}

/** The same map as canonical text, to tell whether two configs differ for the kernel. */
export function kernelConfigKey(config: Record<string, string>): string {
  return JSON.stringify(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "null";
}

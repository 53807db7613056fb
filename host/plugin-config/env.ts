/**
 * Config from environment variables, the top layer on one host:
 * `PLUGHOST_CONFIG__<PLUGIN>__<KEY>`. PLUGIN is the plugin id spelled as for
 * secrets (upper case, `.` -> `_`, `-` -> `__H_`, `_` -> `__U_`), so
 * `acme-billing`, `acme_billing` and `acme.billing` never share a variable.
 * KEY is the key exactly as in the schema (case kept), with `__` between
 * nesting levels: `PLUGHOST_CONFIG__EXAMPLE_HELLO__smtp__port=2525`. The
 * value is JSON when it parses, else a string (values.ts `parseValue`).
 * @module
 */
import { secretScope } from "../capabilities/secrets.ts";
import { type ConfigValues, parseValue, schemaAt, setPath } from "./values.ts";

/** Prefix of every config variable. */
export const CONFIG_ENV_PREFIX = "PLUGHOST_CONFIG__";

/** The variable that sets `path` of plugin `pluginId`. */
export function configEnvName(pluginId: string, path: readonly string[]): string {
  return `${CONFIG_ENV_PREFIX}${secretScope(pluginId)}__${path.join("__")}`;
}

// A rest that begins like the escape of '-', '_' or another character belongs to a
// longer plugin id (`PLUGHOST_CONFIG__A__H_B__x` is plugin `a-b`'s `x`, never `a`'s `H_B.x`).
const OTHER_PLUGIN = /^(H_|U_|X\d+_)/;

/** What the environment sets for one plugin: the values and the variables they came from. */
export interface EnvConfig {
  values: ConfigValues;
  names: string[];
}

/** Reads a plugin's config variables from `env` (typing each value by the schema when it says string). */
export function envConfig(
  pluginId: string,
  schema: Record<string, unknown> | undefined,
  env: Record<string, string | undefined>,
): EnvConfig {
  const prefix = `${CONFIG_ENV_PREFIX}${secretScope(pluginId)}__`;
  let values: ConfigValues = {};
  const names: string[] = [];
  // Filtered before reading: each read of process.env goes through the runtime's getenv.
  for (const name of Object.keys(env).filter((n) => n.startsWith(prefix)).sort()) {
    const text = env[name];
    if (text === undefined) continue;
    const rest = name.slice(prefix.length);
    if (rest === "" || OTHER_PLUGIN.test(rest)) continue;
    const path = rest.split("__");
    if (path.some((s) => s === "" || s === "__proto__")) continue;
    values = setPath(values, path, parseValue(text, schemaAt(schema, path)));
    names.push(name);
  }
  return { values, names };
}

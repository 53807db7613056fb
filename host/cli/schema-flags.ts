/**
 * Command-line flags generated from a capability's input schema (`host run`):
 * one `--field` per property, `--a.b` for a property of a nested object,
 * with its type, whether it is required, its enum, default and description.
 * The flags are parsed into the input object and checked against the whole
 * schema before the call; every problem names the flag (exit 65).
 * @module
 */
import { compileJsonSchema } from "../core/validate.ts";
import { HostError } from "../errors.ts";

/** A JSON Schema as data. */
type Schema = Record<string, unknown>;

/** One generated flag. */
export interface SchemaFlag {
  /** Dotted property path, the flag's name without `--`. */
  name: string;
  path: string[];
  /** The JSON type: string, integer, number, boolean, array, object, or `json` (anything). */
  type: string;
  required: boolean;
  enum?: unknown[] | undefined;
  default?: unknown;
  description?: string | undefined;
  /** For arrays: the items' type. */
  items?: string | undefined;
}

const asSchema = (v: unknown): Schema | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? v as Schema : undefined;

function typeOf(schema: Schema): string {
  const t = schema.type;
  const types = typeof t === "string" ? [t] : Array.isArray(t) ? t.filter((x) => x !== "null") : [];
  if (types.length === 1) return String(types[0]);
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === "string")) {
    return "string";
  }
  return "json";
}

/** The flags of an input schema (none when it is not an object schema with properties). */
export function flagsOf(schema: Schema | undefined): SchemaFlag[] {
  const flags: SchemaFlag[] = [];
  const walk = (s: Schema, path: string[], required: boolean) => {
    const props = asSchema(s.properties) ?? {};
    const needed = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
    for (const [key, value] of Object.entries(props)) {
      const sub = asSchema(value) ?? {};
      const type = typeOf(sub);
      const p = [...path, key];
      const isRequired = required && needed.has(key);
      if (type === "object" && asSchema(sub.properties) !== undefined) {
        walk(sub, p, isRequired);
        continue;
      }
      flags.push({
        name: p.join("."),
        path: p,
        type,
        required: isRequired,
        enum: Array.isArray(sub.enum) ? sub.enum : undefined,
        default: sub.default,
        description: typeof sub.description === "string" ? sub.description : undefined,
        items: type === "array" ? typeOf(asSchema(sub.items) ?? {}) : undefined,
      });
    }
  };
  if (schema !== undefined) walk(schema, [], true);
  return flags;
}

/** The generated part of `--help`: one line per flag. */
export function flagsHelp(flags: readonly SchemaFlag[]): string {
  if (flags.length === 0) {
    return "  (this capability's input schema declares no fields; use --input JSON)\n";
  }
  const rows = flags.map((f) => {
    const value = f.type === "boolean"
      ? ""
      : f.enum
      ? ` ${f.enum.map((v) => String(v)).join("|")}`
      : f.type === "array"
      ? ` ${(f.items ?? "json").toUpperCase()}...`
      : ` ${f.type.toUpperCase()}`;
    const notes: string[] = [];
    if (f.required) notes.push("required");
    if (f.default !== undefined) notes.push(`default ${JSON.stringify(f.default)}`);
    if (f.type === "array") notes.push("repeat the flag, or give a JSON array");
    if (f.type === "json" || f.type === "object") notes.push("JSON");
    const text = [f.description, notes.length > 0 ? `(${notes.join("; ")})` : undefined]
      .filter((x) => x !== undefined).join(" ");
    return [`  --${f.name}${value}`, text] as const;
  });
  const width = Math.min(32, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows.map(([left, text]) =>
    (text === ""
      ? left
      : left.length >= width
      ? `${left}\n${" ".repeat(width)}${text}`
      : `${left.padEnd(width)}${text}`) + "\n"
  ).join("");
}

function invalid(message: string, flag?: string): HostError {
  return new HostError("schema_mismatch", message, {
    extensions: { errors: [{ path: flag ? `--${flag}` : "", message }] },
  });
}

/** One flag's text as its JSON value; throws `schema_mismatch` naming the flag. */
function convert(flag: SchemaFlag, text: string, type = flag.type): unknown {
  switch (type) {
    case "string":
      return text;
    case "integer":
      if (!/^-?\d+$/.test(text)) {
        throw invalid(`--${flag.name} takes an integer, got '${text}'`, flag.name);
      }
      return Number(text);
    case "number":
      if (text.trim() === "" || !Number.isFinite(Number(text))) {
        throw invalid(`--${flag.name} takes a number, got '${text}'`, flag.name);
      }
      return Number(text);
    case "boolean":
      if (text === "true") return true;
      if (text === "false") return false;
      throw invalid(`--${flag.name} takes true or false, got '${text}'`, flag.name);
    default:
      try {
        return JSON.parse(text);
      } catch {
        // A bare word where any JSON is allowed is a string, as a shell user would mean it.
        if (type === "json") return text;
        throw invalid(`--${flag.name} takes JSON (${type}), got '${text}'`, flag.name);
      }
  }
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = value;
}

function getPath(target: Record<string, unknown>, path: string[]): unknown {
  let at: unknown = target;
  for (const key of path) {
    if (typeof at !== "object" || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * Builds the input object from `base` (the `--input` JSON, or {}) and the
 * field flags in `args` (`--name value`, `--name=value`, `--flag`/`--no-flag`
 * for booleans, a repeated flag or a JSON array for arrays), then checks it
 * against `schema`. Throws `schema_mismatch` (exit 65) naming the flag, or
 * `usage` for a flag the schema does not have.
 */
export function inputFromFlags(
  schema: Schema | undefined,
  args: readonly string[],
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const flags = flagsOf(schema);
  const byName = new Map(flags.map((f) => [f.name, f]));
  const input = structuredClone(base);
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      throw new HostError(
        "usage",
        `Unexpected argument '${arg}': fields are given as --name value`,
      );
    }
    const eq = arg.indexOf("=");
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let text: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let flag = byName.get(name);
    if (
      flag === undefined && name.startsWith("no-") && byName.get(name.slice(3))?.type === "boolean"
    ) {
      name = name.slice(3);
      flag = byName.get(name)!;
      if (text !== undefined) throw new HostError("usage", `--no-${name} takes no value`);
      text = "false";
    }
    if (flag === undefined) {
      const known = flags.map((f) => `--${f.name}`).join(", ") || "none (use --input JSON)";
      throw new HostError(
        "usage",
        `Unknown field flag --${name}: this capability's fields are ${known}`,
      );
    }
    if (text === undefined) {
      const next = args[i + 1];
      if (
        flag.type === "boolean" &&
        (next === undefined || next.startsWith("--") || !/^(true|false)$/.test(next))
      ) {
        text = "true";
      } else if (next === undefined) {
        throw new HostError("usage", `--${flag.name} needs a value`);
      } else {
        text = next;
        i++;
      }
    }
    if (flag.type === "array") {
      const trimmed = text.trim();
      const values = trimmed.startsWith("[")
        ? convert(flag, text, "array") as unknown[]
        : [convert(flag, text, flag.items ?? "json")];
      const current = seen.has(flag.name) ? getPath(input, flag.path) as unknown[] : [];
      setPath(input, flag.path, [...current, ...(Array.isArray(values) ? values : [values])]);
    } else {
      if (seen.has(flag.name)) throw new HostError("usage", `--${flag.name} is given twice`);
      setPath(input, flag.path, convert(flag, text));
    }
    seen.add(flag.name);
  }
  for (const flag of flags) {
    if (getPath(input, flag.path) !== undefined) continue;
    if (flag.required) {
      throw invalid(
        `--${flag.name} is required${flag.description ? ` (${flag.description})` : ""}`,
        flag.name,
      );
    }
  }
  const issues = compileJsonSchema(schema)(input);
  if (issues.length > 0) {
    const named = issues.map((issue) => {
      const flag = issue.path === "" ? "" : `--${issue.path.slice(1).split("/").join(".")} `;
      return { path: flag.trim(), message: `${flag}${issue.message}` };
    });
    throw new HostError(
      "schema_mismatch",
      `The input does not match the capability's input schema: ${
        named.map((n) => n.message).join("; ")
      }`,
      { extensions: { errors: named } },
    );
  }
  return input;
}

/** The generated help of one capability. */
export function capabilityHelp(
  pluginId: string,
  capability: string,
  description: string | undefined,
  input: Record<string, unknown> | undefined,
): string {
  const flags = flagsOf(input);
  const required = flags.filter((f) => f.required).map((f) =>
    `--${f.name} ${f.type.toUpperCase()}`
  );
  return `Usage: host run ${[pluginId, capability, ...required].join(" ")}${
    flags.some((f) => !f.required) ? " [--field value ...]" : ""
  } [options]\n\n${description ? `${description}\n\n` : ""}Fields (from the input schema):\n${
    flagsHelp(flags)
  }\nOptions: --input JSON, --follow, --json, --server URL, --token TOKEN (host run --help)\n`;
}

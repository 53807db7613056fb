/**
 * Whether a plugin's capabilities implement the contracts its manifest names
 * (`implements`). Compatible means, for every operation `op` of contract `c`:
 *
 * - a capability named `c.op` exists (the naming convention; docs/contracts.md);
 * - input: the capability accepts every field of the contract's input with
 *   its type (a field it does not declare is accepted only when its schema
 *   allows extra properties; integer satisfies a contract's integer, number
 *   accepts integer too), and requires no field the contract leaves optional;
 *   a capability without an input schema accepts anything and passes;
 * - output: the capability declares an output schema that, recursively
 *   through objects and arrays, requires every field the contract requires,
 *   with a type the contract allows (a narrower one, integer for number, is
 *   fine).
 *
 * Each mismatch is one problem string naming the capability field and the
 * contract's expectation.
 * @module
 */
import { capabilityFor, type Contract, CONTRACTS, findContract } from "./definitions.ts";
import { type JsonSchema, operationSchemas } from "./json-schema.ts";

/** What the check reads of a capability: its JSON Schemas. */
export interface CapabilitySchemas {
  input?: JsonSchema | undefined;
  output?: JsonSchema | undefined;
}

/** Problems with `implements`: unknown contracts, missing or incompatible capabilities. */
export function contractProblems(
  implementsList: readonly string[],
  capabilities: Readonly<Record<string, CapabilitySchemas>>,
): string[] {
  const problems: string[] = [];
  implementsList.forEach((ref, i) => {
    const contract = ref.includes("@") ? findContract(ref) : undefined;
    if (contract === undefined) {
      problems.push(
        `implements.${i}: '${ref}' is no contract this host knows (known: ${knownContracts()})`,
      );
      return;
    }
    problems.push(...operationProblems(contract, capabilities));
  });
  return problems;
}

function knownContracts(): string {
  return [...CONTRACTS.keys()].join(", ");
}

function operationProblems(
  contract: Contract,
  capabilities: Readonly<Record<string, CapabilitySchemas>>,
): string[] {
  const problems: string[] = [];
  const id = `${contract.name}@${contract.version}`;
  for (const [operation, schemas] of Object.entries(operationSchemas(contract))) {
    const name = capabilityFor(contract, operation);
    const capability = Object.hasOwn(capabilities, name) ? capabilities[name] : undefined;
    if (capability === undefined) {
      problems.push(
        `capabilities.${name}: missing; ${id} needs a capability '${name}' for its operation '${operation}'`,
      );
      continue;
    }
    const where = `capabilities.${name}`;
    problems.push(...inputProblems(`${where}.input`, schemas.input, capability.input, id));
    if (capability.output === undefined || Object.keys(capability.output).length === 0) {
      problems.push(`${where}.output: missing; ${id} needs an output schema declaring its fields`);
    } else {
      problems.push(...outputProblems(`${where}.output`, schemas.output, capability.output, id));
    }
  }
  return problems;
}

/** The capability's input must accept every contract input and require nothing more. */
function inputProblems(
  where: string,
  contract: JsonSchema,
  capability: JsonSchema | undefined,
  id: string,
): string[] {
  if (capability === undefined || Object.keys(capability).length === 0) return [];
  const problems: string[] = [];
  if (!accepts(typesOf(capability), "object")) {
    return [`${where}.type: is ${show(typesOf(capability))}; ${id} sends an object`];
  }
  const declared = propertiesOf(capability);
  const optional = new Set(Object.keys(propertiesOf(contract)));
  for (const field of requiredOf(contract)) optional.delete(field);
  for (const [field, schema] of Object.entries(propertiesOf(contract))) {
    const own = declared[field];
    if (own === undefined) {
      if (capability.additionalProperties === false) {
        problems.push(
          `${where}.properties.${field}: missing; ${id} may send '${field}' and additionalProperties is false`,
        );
      }
      continue;
    }
    const wanted = typesOf(schema);
    const mine = typesOf(own);
    const refused = wanted.filter((t) => !accepts(mine, t));
    if (refused.length > 0) {
      problems.push(
        `${where}.properties.${field}.type: is ${show(mine)}; ${id} sends ${show(wanted)}`,
      );
    }
  }
  for (const field of requiredOf(capability)) {
    if (optional.has(field)) {
      problems.push(
        `${where}.required: requires '${field}', which ${id} leaves optional (callers may omit it)`,
      );
    } else if (!Object.hasOwn(propertiesOf(contract), field)) {
      problems.push(`${where}.required: requires '${field}', which ${id} never sends`);
    }
  }
  return problems;
}

/** The capability's output must declare what the contract requires, recursively. */
function outputProblems(
  where: string,
  contract: JsonSchema,
  capability: JsonSchema,
  id: string,
): string[] {
  const wanted = typesOf(contract);
  const mine = typesOf(capability);
  if (wanted.length > 0) {
    if (mine.length === 0) {
      return [`${where}.type: missing; ${id} needs ${show(wanted)}`];
    }
    const outside = mine.filter((t) =>
      !wanted.some((w) => w === t || (w === "number" && t === "integer"))
    );
    if (outside.length > 0) return [`${where}.type: is ${show(mine)}; ${id} needs ${show(wanted)}`];
  }
  const problems: string[] = [];
  if (wanted.includes("object")) {
    const required = new Set(requiredOf(capability));
    const declared = propertiesOf(capability);
    const contractProps = propertiesOf(contract);
    for (const field of requiredOf(contract)) {
      const own = declared[field];
      if (own === undefined || !required.has(field)) {
        problems.push(
          `${where}.required: must require '${field}' (declared in properties); ${id} requires it`,
        );
        continue;
      }
      const sub = contractProps[field];
      if (sub !== undefined) {
        problems.push(...outputProblems(`${where}.properties.${field}`, sub, own, id));
      }
    }
  }
  if (wanted.includes("array")) {
    const items = asSchema(contract.items);
    const own = asSchema(capability.items);
    if (items !== undefined && Object.keys(items).length > 0) {
      if (own === undefined) {
        problems.push(`${where}.items: missing; ${id} needs items of ${show(typesOf(items))}`);
      } else problems.push(...outputProblems(`${where}.items`, items, own, id));
    }
  }
  return problems;
}

function typesOf(schema: JsonSchema): string[] {
  const type = schema.type;
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === "string");
  return [];
}

/** Whether a schema of `types` (none: any type) accepts a value of type `type`. */
function accepts(types: string[], type: string): boolean {
  return types.length === 0 || types.includes(type) ||
    (type === "integer" && types.includes("number"));
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  const props = schema.properties;
  if (typeof props !== "object" || props === null) return {};
  const out: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(props)) {
    const s = asSchema(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

function requiredOf(schema: JsonSchema): string[] {
  const required = schema.required;
  return Array.isArray(required) ? required.filter((r): r is string => typeof r === "string") : [];
}

function asSchema(value: unknown): JsonSchema | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as JsonSchema
    : undefined;
}

function show(types: string[]): string {
  return types.length === 0 ? "any type" : types.join(" or ");
}

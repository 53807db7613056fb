/**
 * The standard capability contracts, version 1: interfaces many plugins
 * implement (an inventory, facts, reports, events, remote commands) so that
 * callers reach them by contract rather than by plugin. Each operation has an
 * input and an output schema and a dispatch mode: `merge` fans out to every
 * provider and merges their `items` (each tagged with its provider's id),
 * `first` asks providers in priority order until one answers (`found` not
 * false). These zod schemas are the source of truth; `schemas/contracts/*.json`
 * is generated from them (scripts/gen-schemas.ts).
 * @module
 */
import { z } from "zod";

/** How the host routes an operation to its providers (see docs/contracts.md). */
export type DispatchMode = "merge" | "first";

/** One operation of a contract. */
export interface ContractOperation {
  description: string;
  mode: DispatchMode;
  input: z.ZodType;
  output: z.ZodType;
}

/** A versioned contract: `name@version`, its operations by name. */
export interface Contract {
  name: string;
  version: number;
  description: string;
  operations: Readonly<Record<string, ContractOperation>>;
}

const limit = z.int().min(1).max(10_000).optional().meta({
  description: "Most items each provider returns",
});
/** Free-form JSON properties of an item. */
const vars = z.record(z.string(), z.unknown());

const Host = z.looseObject({
  id: z.string().min(1).meta({ description: "Stable id of the host within its provider" }),
  name: z.string().meta({ description: "Host name or address" }),
  groups: z.array(z.string()).optional(),
  vars: vars.optional(),
}).meta({ description: "One inventory host" });
const Group = z.looseObject({
  name: z.string().min(1),
  hosts: z.array(z.string()).optional().meta({ description: "Ids of the group's hosts" }),
}).meta({ description: "One inventory group" });
const ReportSummary = z.looseObject({
  id: z.string().min(1),
  title: z.string(),
  createdAt: z.string().optional().meta({ description: "RFC 3339 time" }),
});
const Event = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  time: z.string().meta({ description: "RFC 3339 time" }),
  data: z.unknown().optional(),
});

const op = (
  description: string,
  mode: DispatchMode,
  input: z.ZodType,
  output: z.ZodType,
): ContractOperation => ({ description, mode, input, output });

const items = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/** inventory@1: hosts and groups. */
export const inventory1: Contract = {
  name: "inventory",
  version: 1,
  description: "Hosts and the groups they belong to",
  operations: {
    list: op("Every host", "merge", z.object({ limit }), items(Host)),
    get: op(
      "One host by id",
      "first",
      z.object({ id: z.string().min(1) }),
      z.object({ found: z.boolean(), item: Host.optional() }),
    ),
    groups: op("Every group", "merge", z.object({ limit }), items(Group)),
    filter: op(
      "Hosts in a group, or whose name contains a text",
      "merge",
      z.object({
        group: z.string().optional().meta({ description: "Only hosts in this group" }),
        name: z.string().optional().meta({ description: "Only hosts whose name contains this" }),
        limit,
      }),
      items(Host),
    ),
  },
};

/** facts@1: facts gathered about a host. */
export const facts1: Contract = {
  name: "facts",
  version: 1,
  description: "Facts gathered about a host (OS, addresses, packages...)",
  operations: {
    get: op(
      "The facts known about a host",
      "first",
      z.object({ host: z.string().min(1), names: z.array(z.string()).optional() }),
      z.object({ found: z.boolean(), facts: vars.optional() }),
    ),
    refresh: op(
      "Gathers a host's facts again",
      "first",
      z.object({ host: z.string().min(1) }),
      z.object({ found: z.boolean(), refreshed: z.boolean() }),
    ),
  },
};

/** reports@1: stored reports. */
export const reports1: Contract = {
  name: "reports",
  version: 1,
  description: "Reports a provider keeps",
  operations: {
    list: op("Every report", "merge", z.object({ limit }), items(ReportSummary)),
    get: op(
      "One report by id",
      "first",
      z.object({ id: z.string().min(1) }),
      z.object({
        found: z.boolean(),
        report: ReportSummary.extend({ body: z.unknown() }).optional(),
      }),
    ),
    query: op(
      "Rows of reports matching a query",
      "merge",
      z.object({ query: z.string().min(1), limit }),
      items(z.looseObject({ report: z.string().optional() })),
    ),
  },
};

/** events@1: events a provider knows of (not the host's own event log). */
export const events1: Contract = {
  name: "events",
  version: 1,
  description: "Events a provider collects (alerts, changes, audit entries)",
  operations: {
    list: op(
      "Recent events",
      "merge",
      z.object({ since: z.string().optional().meta({ description: "RFC 3339 time" }), limit }),
      items(Event),
    ),
    query: op(
      "Events of a type",
      "merge",
      z.object({
        type: z.string().optional(),
        since: z.string().optional().meta({ description: "RFC 3339 time" }),
        limit,
      }),
      items(Event),
    ),
  },
};

/**
 * command@1: runs a command somewhere. Output streams as the run's progress
 * events (the SDK's `progress()`), read with `GET /v1/runs/{id}/stream`; the
 * answer carries the whole output too.
 */
export const command1: Contract = {
  name: "command",
  version: 1,
  description: "Runs a command on a host; its output lines stream as progress events",
  operations: {
    execute: op(
      "Runs a command and answers its exit code and output",
      "first",
      z.object({
        command: z.string().min(1),
        args: z.array(z.string()).optional(),
        host: z.string().optional(),
        timeoutMs: z.int().positive().optional(),
      }),
      z.object({ exitCode: z.int(), stdout: z.string(), stderr: z.string() }),
    ),
  },
};

/** Every contract the host knows, by `name@version`. */
export const CONTRACTS: ReadonlyMap<string, Contract> = new Map(
  [inventory1, facts1, reports1, events1, command1].map((c) => [`${c.name}@${c.version}`, c]),
);

/** `name@version` of a contract. */
export function contractId(contract: Contract): string {
  return `${contract.name}@${contract.version}`;
}

/**
 * The contract a reference names: `inventory@1`, or `inventory` for its
 * highest version. Undefined when there is none.
 */
export function findContract(ref: string): Contract | undefined {
  if (ref.includes("@")) return CONTRACTS.get(ref);
  let best: Contract | undefined;
  for (const c of CONTRACTS.values()) {
    if (c.name === ref && (best === undefined || c.version > best.version)) best = c;
  }
  return best;
}

/** The capability that implements `operation` of `contract` (by convention `inventory.list`). */
export function capabilityFor(contract: Contract, operation: string): string {
  return `${contract.name}.${operation}`;
}

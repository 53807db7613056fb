/**
 * Standard contracts over HTTP (docs/contracts.md): `GET /v1/contracts`
 * lists the contracts the host knows and the loaded plugins that implement
 * each; `POST /v1/contracts/{contract}/{operation}` routes a call to them.
 * Every provider call is a run of the core's one invoke (trigger `http`, the
 * contract call's correlation id on each), durable before the answer.
 * @module
 */
import { z } from "@hono/zod-openapi";
import {
  type ContractCall,
  contractId,
  CONTRACTS,
  dispatchContract,
  findContract,
  providersOf,
} from "../../contracts/mod.ts";
import { HostError } from "../../errors.ts";
import { ulid } from "../../store/mod.ts";
import { parseJson, readBody, requireMediaType } from "../body.ts";
import type { RouteModule, ServerDeps } from "../context.ts";
import { defineRoute, guarded } from "../route.ts";
import { problemContent } from "../schemas.ts";

const ProviderSchema = z.object({ id: z.string(), priority: z.number().int() });
const ContractSchema = z.object({
  id: z.string().describe("name@version, like inventory@1"),
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  schema: z.string().describe("Where its JSON Schema is kept in the source tree"),
  operations: z.array(z.object({
    name: z.string(),
    description: z.string(),
    mode: z.enum(["merge", "first"]),
    capability: z.string().describe("The capability a provider implements it with"),
  })),
  providers: z.array(ProviderSchema).describe("Enabled loaded plugins, in priority order"),
}).openapi("Contract");

const Outcome = z.object({
  id: z.string(),
  runId: z.string().nullable(),
  ok: z.boolean(),
  error: z.object({ class: z.string(), message: z.string() }).optional(),
}).openapi("ContractProviderOutcome");

export const listContracts = defineRoute("read", {
  method: "get",
  path: "/v1/contracts",
  tags: ["contracts"],
  summary: "List the standard contracts and their providers",
  responses: {
    200: {
      description: "The contracts",
      content: {
        "application/json": { schema: z.object({ contracts: z.array(ContractSchema) }) },
      },
    },
  },
});

export const callContract = defineRoute("invoke", {
  method: "post",
  path: "/v1/contracts/{contract}/{operation}",
  tags: ["contracts"],
  summary: "Call an operation of a standard contract on its providers",
  description: "`merge` operations (list, groups, filter, query) call every provider and " +
    "answer their items merged, each with `provider`; `first` operations ask providers in " +
    "priority order until one answers with `found` not false. Each provider call is a run " +
    "(`providers[].runId`). Needs scope `invoke`.",
  request: {
    params: z.object({
      contract: z.string().max(100).describe("inventory, or inventory@1"),
      operation: z.string().max(100),
    }),
  },
  responses: {
    200: {
      description: "The merged items, or the first provider's answer",
      headers: z.object({ "x-correlation-id": z.string() }),
      content: {
        "application/json": {
          schema: z.object({
            contract: z.string(),
            operation: z.string(),
            mode: z.enum(["merge", "first"]),
            items: z.array(z.record(z.string(), z.unknown())).optional(),
            provider: z.string().nullable().optional(),
            output: z.unknown().optional(),
            providers: z.array(Outcome),
          }).openapi("ContractAnswer"),
        },
      },
    },
    400: problemContent("Malformed JSON"),
    403: problemContent("Missing scope invoke"),
    404: problemContent("No such contract or operation, or no provider"),
    415: problemContent("Body is not application/json"),
    422: problemContent("Input does not match the contract's input schema"),
    502: problemContent("Every provider failed (each listed in `providers`)"),
  },
});

export const contracts: RouteModule = {
  name: "contracts",
  register(app, deps) {
    app.openapi(guarded(app, listContracts), (c) => {
      const plugins = candidates(deps);
      const list = [...CONTRACTS.values()].map((contract) => ({
        id: contractId(contract),
        name: contract.name,
        version: contract.version,
        description: contract.description,
        schema: `schemas/contracts/${contractId(contract)}.schema.json`,
        operations: Object.entries(contract.operations).map(([name, op]) => ({
          name,
          description: op.description,
          mode: op.mode,
          capability: `${contract.name}.${name}`,
        })),
        providers: providersOf(contract, plugins).map((p) => ({
          id: p.pluginId,
          priority: p.priority,
        })),
      }));
      return c.json({ contracts: list }, 200);
    });
    app.openapi(guarded(app, callContract), async (c) => {
      const { contract: ref, operation } = c.req.valid("param");
      const contract = findContract(ref);
      if (contract === undefined) {
        throw new HostError(
          "not_found",
          `No contract '${ref}': see GET /v1/contracts (known: ${
            [...CONTRACTS.keys()].join(", ")
          })`,
        );
      }
      requireMediaType(c, ["application/json"]);
      const input = parseJson(await readBody(c, deps.options.maxBodyBytes));
      const correlationId = `contract:${contractId(contract)}:${operation}:${ulid()}`.slice(0, 200);
      const answer = await dispatchContract(
        contract,
        operation,
        input,
        providersOf(contract, candidates(deps)),
        providerCall(deps, correlationId),
      );
      return c.json(answer, 200, { "x-correlation-id": correlationId });
    });
  },
};

/** The loaded plugins as dispatch sees them. */
function candidates(deps: ServerDeps) {
  return deps.runtime.list().map((p) => ({
    id: p.id,
    state: p.state,
    implements: p.manifest.implements ?? [],
  }));
}

/** One provider call: a run of the core's invoke, tracked for graceful shutdown. */
function providerCall(deps: ServerDeps, correlationId: string): ContractCall {
  return async (pluginId, capability, input) => {
    const runId = ulid();
    const result = await deps.inflight.track(
      runId,
      deps.runtime.invoke({
        pluginId,
        capability,
        input,
        trigger: "http",
        requireJson: true,
        correlationId,
        output: "json",
        durable: true,
        runId,
      }),
    );
    return result.ok
      ? { runId: result.runId, ok: true, output: result.output }
      : { runId: result.runId, ok: false, error: result.error };
  };
}

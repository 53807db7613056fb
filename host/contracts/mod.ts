/**
 * Standard capability contracts (docs/contracts.md): their zod schemas, the
 * JSON Schemas generated from them, the compatibility check install runs, and
 * the dispatch of a contract call to its providers.
 * @module
 */
export {
  capabilityFor,
  type Contract,
  contractId,
  type ContractOperation,
  CONTRACTS,
  type DispatchMode,
  findContract,
} from "./definitions.ts";
export { type CapabilitySchemas, contractProblems } from "./compat.ts";
export { contractJsonSchemaText, type JsonSchema, operationSchemas } from "./json-schema.ts";
export {
  type ContractAnswer,
  type ContractCall,
  dispatchContract,
  type Provider,
  type ProviderOutcome,
  providersOf,
} from "./dispatch.ts";

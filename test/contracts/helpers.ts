/** Shared imports and small builders of the contract tests. */
import type { Provider } from "../../host/contracts/mod.ts";
export {
  contractJsonSchemaText,
  contractProblems,
  CONTRACTS,
  dispatchContract,
} from "../../host/contracts/mod.ts";

/** Providers from [plugin id, priority] pairs, sorted as the host sorts them. */
export function inventoryProviders(...pairs: [string, number][]): Provider[] {
  return pairs.map(([pluginId, priority]) => ({ pluginId, priority }))
    .sort((a, b) => b.priority - a.priority || a.pluginId.localeCompare(b.pluginId));
}

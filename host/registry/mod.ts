/**
 * The plugin registry: the service a host serves under /v1/registry/, its
 * HTTP client, and installs, updates and lockfile reinstalls through it.
 * @module
 */
import type { Host } from "../host.ts";
import { sandboxProbe } from "./probe.ts";
import { RegistryService } from "./service.ts";

export { type ClientOptions, RegistryClient } from "./client.ts";
export {
  installFromRegistry,
  installLocked,
  parseRequest,
  type PlannedChange,
  type PluginRequest,
  type RegistryInstallOptions,
} from "./install.ts";
export { type Probe, sandboxProbe } from "./probe.ts";
export {
  CHANNELS,
  type PublishInput,
  RegistryService,
  type RegistrySummary,
  type RegistryVersion,
  type SearchQuery,
} from "./service.ts";

/** The registry a host serves: its store, its trust store, its sandbox for the load check. */
export function registryOf(host: Pick<Host, "store" | "trust">): RegistryService {
  return new RegistryService({
    store: host.store,
    trust: host.trust,
    probe: sandboxProbe(host.store),
  });
}

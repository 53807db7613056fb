/**
 * How plugins appear in API responses.
 * @module
 */
import type { z } from "@hono/zod-openapi";
import type { PluginInfo } from "../core/mod.ts";
import type { PluginStatus } from "../lifecycle/mod.ts";
import type { PluginDetail, PluginSummary } from "./schemas.ts";

/** The list entry of a plugin. */
export function pluginSummary(
  info: PluginInfo,
  lifecycle?: PluginStatus,
): z.infer<typeof PluginSummary> {
  return {
    id: info.id,
    version: info.version,
    name: info.manifest.name ?? null,
    digest: info.digest,
    state: info.state,
    signers: info.signers.map((s) => ({ keyId: s.keyId, label: s.label ?? null })),
    unsigned: info.unsigned,
    source: info.source,
    capabilities: Object.keys(info.manifest.capabilities).sort(),
    lifecycle: lifecycle ?? null,
  };
}

/** A plugin in full: manifest, signers, state and capabilities with their schemas. */
export function pluginDetail(
  info: PluginInfo,
  lifecycle?: PluginStatus,
): z.infer<typeof PluginDetail> {
  const { capabilities: _, ...summary } = pluginSummary(info, lifecycle);
  return {
    ...summary,
    mode: info.mode,
    manifest: info.manifest as unknown as Record<string, unknown>,
    capabilities: Object.entries(info.manifest.capabilities).map(([name, c]) => ({
      name,
      export: c.export,
      description: c.description ?? null,
      input: c.input ?? null,
      output: c.output ?? null,
    })),
  };
}

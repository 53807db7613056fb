/**
 * `config_get`: the plugin's own effective config for the run in progress
 * (manifest default <- operator values <- environment; docs/config.md). No
 * permission is needed; secret (`writeOnly`) fields are the plugin's to read.
 * @module
 */
import { z } from "zod";
import { getPath, keyPath } from "../plugin-config/mod.ts";
import type { HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, wellFormed } from "./abi.ts";
import { type CapabilityContext, syncFunction } from "./context.ts";

const ConfigRequest = z.object({ key: wellFormed.max(1024).optional() });

/** The `config_get` host function over `ctx`. */
export function configFunctions(ctx: CapabilityContext): Record<string, HostFunction> {
  return {
    config_get: syncFunction("config_get", (call, input) => {
      const { key } = parseRequest("config_get", input, ConfigRequest);
      const config = ctx.config?.(call.runId) ?? {};
      if (key === undefined || key === "") return okResult({ value: config });
      let path: string[];
      try {
        path = keyPath(key);
      } catch (error) {
        throw new AbiError("invalid_input", `config_get: ${(error as Error).message}`);
      }
      const value = getPath(config, path);
      if (value === undefined) {
        throw new AbiError(
          "not_found",
          `config_get: the config of '${call.pluginId}' has no key '${key}'; the manifest's config.default or the operator ('host config set') gives it`,
        );
      }
      return okResult({ value });
    }),
  };
}

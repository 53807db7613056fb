/**
 * `secret_get`: a secret the manifest declares in `permissions.secrets`, from
 * the host's secret provider. The value is remembered for the run only to
 * redact it from the host's logs and error messages.
 * @module
 */
import { z } from "zod";
import type { HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, wellFormed } from "./abi.ts";
import { denied } from "./audit.ts";
import { type CapabilityContext, grantsFor, syncFunction } from "./context.ts";
import { envSafeName, secretScope } from "./secrets.ts";

const SecretRequest = z.object({ name: wellFormed });

/** The `secret_get` host function over `ctx`. */
export function secretFunctions(ctx: CapabilityContext): Record<string, HostFunction> {
  return {
    secret_get: syncFunction("secret_get", (call, input) => {
      const { name } = parseRequest("secret_get", input, SecretRequest);
      if (!grantsFor(ctx, call).secrets.has(name)) {
        return denied(
          ctx,
          call,
          "secret_get",
          { name },
          `secret '${name}' is not declared in permissions.secrets, or the operator's policy does not grant it to '${call.pluginId}'`,
        );
      }
      const value = ctx.secrets.get(name, call.pluginId);
      if (value === undefined) {
        throw new AbiError(
          "not_found",
          `secret_get: the host has no value for secret '${name}'; the operator sets it (${
            envSafeName(name)
              ? `e.g. PLUGHOST_SECRET_${secretScope(call.pluginId)}__${name}`
              : `in the secrets file under "${call.pluginId}": a name with '__' or a leading '_' is never read from the environment`
          })`,
        );
      }
      ctx.runs.get(call.runId)?.secrets.add(value);
      return okResult({ value });
    }),
  };
}

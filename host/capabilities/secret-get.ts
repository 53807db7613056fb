/**
 * `secret_get`: a secret the manifest declares in `permissions.secrets`, from
 * the host's secret provider. Every granted answer is a `secret.read` audit
 * event (plugin, run, name, provider; never the value). The value is
 * remembered for the run to redact it from whatever the plugin writes.
 * @module
 */
import { z } from "zod";
import type { HostFunction } from "../sandbox/mod.ts";
import { AbiError, okResult, parseRequest, wellFormed } from "./abi.ts";
import { denied } from "./audit.ts";
import { type CapabilityContext, grantsFor, syncFunction } from "./context.ts";
import { envSafeName, findSecret, secretScope } from "./secrets.ts";

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
      const run = ctx.runs.get(call.runId);
      if (run && run.secretReads >= ctx.policy.secretReadsPerRun) {
        throw new AbiError(
          "rate_limited",
          `secret_get: this run already read ${run.secretReads} secrets, the host's limit per run (read a secret once and keep it)`,
        );
      }
      const found = findSecret(ctx.secrets, name, call.pluginId);
      if (found === undefined) {
        throw new AbiError(
          "not_found",
          `secret_get: the host has no value for secret '${name}'; the operator sets it (${
            envSafeName(name)
              ? `e.g. host secrets set ${call.pluginId} ${name}, or PLUGHOST_SECRET_${
                secretScope(call.pluginId)
              }__${name}`
              : `with host secrets set ${call.pluginId} ${name}, or in the secrets file under "${call.pluginId}": a name with '__' or a leading '_' is never read from the environment`
          })`,
        );
      }
      if (run) {
        run.secretReads++;
        run.secrets.add(found.value);
      }
      auditRead(ctx, call.pluginId, call.runId, name, found.provider);
      return okResult({ value: found.value });
    }),
  };
}

/** Writes `secret.read` (without waiting): who read which name from which provider. */
function auditRead(
  ctx: CapabilityContext,
  pluginId: string,
  runId: string,
  name: string,
  provider: string,
): void {
  try {
    void ctx.store.events.append({
      type: "secret.read",
      level: "info",
      source: "host",
      pluginId,
      runId,
      payload: { name, provider },
    }).catch(() => {});
  } catch {
    // An audit event the store refuses is a host bug; the answer stands.
  }
}

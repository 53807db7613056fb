/**
 * The HostFunctionProvider: a plugin's host functions, hooks and HTTP gate,
 * decided from its manifest. Every plugin gets every function of the ABI;
 * calls outside its grants answer `permission_denied` (audited).
 * @module
 */
import process from "node:process";
import type { Manifest } from "../manifest/mod.ts";
import type { CallError, HostCall } from "../sandbox/mod.ts";
import type { KvLimits, Store } from "../store/mod.ts";
import { auditDenied } from "./audit.ts";
import { type CapabilityContext, grantsFor } from "./context.ts";
import { configFunctions } from "./config-get.ts";
import { eventFunctions } from "./events.ts";
import { grantsOf } from "./grants.ts";
import { capsFor, clampPermissions, type Policy } from "../policy/mod.ts";
import type { EgressOptions } from "./egress.ts";
import { guardedFetch, type HttpTransport } from "./http.ts";
import { invokeFunctions } from "./invoke.ts";
import { kvFunctions } from "./kv.ts";
import { progressFunctions } from "./progress.ts";
import { KvView } from "./kv-view.ts";
import { runLogger } from "./logger.ts";
import { type CapabilityPolicy, defaultCapabilityPolicy } from "./policy.ts";
import { knownSecrets, redactBytes, redactText } from "./redact.ts";
import { type ActiveRun, RunRegistry, spendBudget } from "./runs.ts";
import { taped, tapedFetch, tapeOf } from "./tape.ts";
import { secretFunctions } from "./secret-get.ts";
import { databaseSecrets, SECRETS_KEY_ENV } from "./secret-vault.ts";
import {
  cachedSecrets,
  chainSecrets,
  envSecrets,
  fileSecrets,
  findSecret,
  SECRET_CACHE_MS,
  type SecretProvider,
} from "./secrets.ts";
import type {
  CallOutcome,
  CallOutput,
  HostFunctionHost,
  HostFunctionProvider,
  HostFunctionSet,
} from "./types.ts";

/** Options of `capabilityProvider`. */
export interface CapabilityOptions {
  /**
   * Where secrets come from. Default: `$PLUGHOST_SECRET_<NAME>`, then the
   * secrets file (`secretsFile`, else `$PLUGHOST_SECRETS_FILE`) when set.
   */
  secrets?: SecretProvider;
  /** A JSON secrets file or a directory of secret files (see fileSecrets), for the default provider. */
  secretsFile?: string;
  /**
   * How long a looked-up secret is reused, in ms (default SECRET_CACHE_MS,
   * 5 s): a rotated value is seen by plugins within it.
   */
  secretsCacheMs?: number;
  /** The database secrets key's text (default: `$PLUGHOST_SECRETS_KEY` when a plugin's secrets load). */
  secretsKey?: () => string | undefined;
  /** Host policy (defaults in policy.ts). */
  policy?: Partial<CapabilityPolicy>;
  /**
   * The HTTP egress gate: special networks the operator allows (CIDR) and the
   * resolver (default: the system's). A function gives each plugin its own.
   */
  egress?: EgressOptions | ((pluginId: string) => EgressOptions);
  /**
   * The operator policy (host/policy): grants beyond it are dropped (hosts,
   * topics, secrets: a plugin then gets permission_denied, audited) and its
   * `http.allowNetworks` opens special networks per plugin id.
   */
  operatorPolicy?: Policy;
  /**
   * Answers plugins' HTTP without the network (`host test`'s fixtures); never
   * set by `host serve`. The manifest's allowedHosts still apply.
   */
  httpTransport?: HttpTransport;
}

/** The default secret provider (see CapabilityOptions.secrets). */
export function defaultSecrets(secretsFile?: string): SecretProvider {
  const file = secretsFile ?? process.env.PLUGHOST_SECRETS_FILE;
  return file ? chainSecrets(envSecrets(), fileSecrets(file)) : envSecrets();
}

/**
 * The host functions of plughost's ABI (docs/abi.md) for each plugin.
 * @example
 * const host = await createHost({ hostFunctions: capabilityProvider({ secrets }) });
 */
export function capabilityProvider(options: CapabilityOptions = {}): HostFunctionProvider {
  const policy = { ...defaultCapabilityPolicy, ...options.policy };
  const cacheMs = options.secretsCacheMs ?? SECRET_CACHE_MS;
  const configured = options.secrets ?? defaultSecrets(options.secretsFile);
  const keyText = options.secretsKey ?? (() => process.env[SECRETS_KEY_ENV]);
  const operator = options.operatorPolicy;
  const contexts = new WeakMap<Store, CapabilityContext>();
  const contextFor = (host: HostFunctionHost): CapabilityContext => {
    let ctx = contexts.get(host.store);
    if (!ctx) {
      ctx = {
        store: host.store,
        invoke: (request) => host.invoke(request),
        config: host.config ? (runId) => host.config?.(runId) : undefined,
        // The database's own values (host secrets set) first, then the configured providers.
        secrets: cachedSecrets(
          chainSecrets(databaseSecrets(host.store.secrets, keyText, cacheMs), configured),
          cacheMs,
        ),
        policy,
        runs: new RunRegistry(),
        views: new Map(),
        narrow: operator
          ? (pluginId, permissions) => clampPermissions(capsFor(operator, pluginId), permissions)
          : undefined,
        secretNames: new Map(),
        known: (pluginId) => host.known?.(pluginId) ?? false,
        determinism: operator
          ? (pluginId) => capsFor(operator, pluginId).determinism ?? undefined
          : undefined,
      };
      contexts.set(host.store, ctx);
    }
    return ctx;
  };
  return (manifest, host) => {
    const ctx = contextFor(host);
    const given = typeof options.egress === "function"
      ? options.egress(manifest.id)
      : options.egress;
    const networks = operator ? capsFor(operator, manifest.id).allowNetworks : [];
    const egress = networks.length > 0
      ? { ...given, allowNetworks: [...(given?.allowNetworks ?? []), ...networks] }
      : given;
    return pluginSet(ctx, manifest, egress, options.httpTransport);
  };
}

function pluginSet(
  ctx: CapabilityContext,
  manifest: Manifest,
  egress: EgressOptions | undefined,
  transport: HttpTransport | undefined,
): HostFunctionSet {
  const permissions = ctx.narrow
    ? ctx.narrow(manifest.id, manifest.permissions)
    : manifest.permissions;
  const grants = grantsOf(permissions, ctx.policy.maxKvQuotaBytes);
  ctx.secretNames.set(manifest.id, new Set([...grants.secrets, ...grants.injectSecrets]));
  const invokes = grants.invoke.size > 0;
  const http = grants.allowedHosts.length > 0;
  const functions: HostFunctionSet["functions"] = {
    ...kvFunctions(ctx),
    ...eventFunctions(ctx),
    ...secretFunctions(ctx),
    ...configFunctions(ctx),
    ...invokeFunctions(ctx, invokes),
    ...progressFunctions(ctx),
  };
  const set: HostFunctionSet = {
    // Every answer goes through the run's tape (docs/replay.md).
    functions: Object.fromEntries(
      Object.entries(functions).map(([name, fn]) => [name, taped(ctx, name, fn)]),
    ),
    needsWorker: invokes || http,
    logger: runLogger(ctx, manifest.id),
    beforeCall: (call) => beforeCall(ctx, call),
    // KV writes are buffered per call, so a call cut at its main-thread slice can be re-run;
    // a published event (or an invoke) is final. A progress report is not: like a log line, a
    // re-run reports its steps again rather than failing a long call with `timeout`.
    rerun: {
      reset: (call) => {
        tapeOf(call)?.reset();
        // The re-run meets the first attempt's denials again: audited once (audit.ts).
        ctx.runs.newAttempt(call.runId);
        return loadView(ctx, call);
      },
      final: new Set(["event_publish", "invoke"]),
    },
    afterCall: (call, outcome) => afterCall(ctx, call, outcome),
  };
  if (http) {
    // The gate below checks every hop and audits refusals, so Extism's own
    // first-hop check (which refuses silently) is opened to it.
    set.allowedHosts = ["*"];
    set.fetch = tapedFetch(
      ctx,
      manifest.id,
      guardedFetch({
        allowedHosts: grants.allowedHosts,
        maxBytes: ctx.policy.httpMaxBytes,
        timeoutMs: ctx.policy.httpTimeoutMs,
        maxRedirects: ctx.policy.httpMaxRedirects,
        ...(egress ? { egress } : {}),
        ...(transport ? { transport } : {}),
        ...(Object.keys(grants.inject).length > 0
          ? {
            inject: {
              entries: grants.inject,
              secret: (name: string) => findSecret(ctx.secrets, name, manifest.id),
              onInjected(url: URL, name: string, provider: string) {
                const run = ctx.runs.soleRunOf(manifest.id);
                // Capped per run like denials: a run making thousands of requests does not write
                // thousands of events (the header still goes; the run's end counts the rest).
                if (!injectionAudited(ctx, manifest.id, run)) return;
                void ctx.store.events.append({
                  type: "secret.injected",
                  level: "info",
                  source: "host",
                  pluginId: manifest.id,
                  runId: run?.runId ?? null,
                  payload: { name, provider, host: url.host },
                }).catch(() => {});
              },
            },
          }
          : {}),
        onDenied(url, hop, reason) {
          const run = ctx.runs.soleRunOf(manifest.id);
          auditDenied(
            ctx,
            { pluginId: manifest.id, runId: run?.runId ?? null },
            "http_request",
            { host: url.host, hop: String(hop) },
            reason,
          );
        },
      }),
    );
  }
  const override = ctx.determinism?.(manifest.id);
  if (override) set.determinism = override;
  return set;
}

async function beforeCall(ctx: CapabilityContext, call: HostCall): Promise<void> {
  const run = ctx.runs.begin(call.runId, call.pluginId);
  run.determinism = call.determinism;
  run.tape = tapeOf(call);
  // Providers that read asynchronously (the database) load the plugin's values now; a plugin
  // granted no secret has none to load.
  if ((ctx.secretNames.get(call.pluginId)?.size ?? 0) > 0) {
    await ctx.secrets.prepare?.(call.pluginId);
  }
  await loadView(ctx, call);
}

/** A fresh KV view for the call: its writes so far, if any, are dropped. */
async function loadView(ctx: CapabilityContext, call: HostCall): Promise<void> {
  const limits = kvLimits(ctx, call);
  if (limits) {
    const snapshot = await ctx.store.kv.snapshot(call.pluginId);
    ctx.views.set(call.runId, new KvView(call.pluginId, snapshot, limits));
  }
}

/**
 * Counts one secret injection against its run's budget (`injectedPerRun`), or
 * against each run of the plugin when the request cannot be tied to one (as
 * denials are, audit.ts); true when its `secret.injected` event is written.
 */
function injectionAudited(
  ctx: CapabilityContext,
  pluginId: string,
  run: ActiveRun | undefined,
): boolean {
  const runs = run ? [run] : ctx.runs.runsOf(pluginId);
  return runs.length === 0 || spendBudget(runs, "injected", ctx.policy.injectedPerRun);
}

/** At a run's end, one event counting what its budget of `type`'s events left unwritten. */
function reportDropped(
  ctx: CapabilityContext,
  call: HostCall,
  type: string,
  level: "info" | "warn",
  dropped: number,
  limit: number,
): void {
  if (dropped === 0) return;
  void ctx.store.events.append({
    type,
    level,
    source: "host",
    pluginId: call.pluginId,
    runId: call.runId,
    payload: { dropped, limit },
  }).catch(() => {});
}

/**
 * Commits a successful call's KV writes, drops a failed one's, reports dropped
 * log lines, and redacts the plugin's known secret values from the output or
 * the error message (both reach callers; the message is kept in the RunRecord).
 */
async function afterCall(
  ctx: CapabilityContext,
  call: HostCall,
  outcome: CallOutcome,
): Promise<CallError | CallOutput | null> {
  const failure = outcome.ok ? null : outcome.error;
  const view = ctx.views.get(call.runId);
  ctx.views.delete(call.runId);
  const run = ctx.runs.end(call.runId);
  let error = failure;
  let replaced = false;
  if (view && (failure || view.writes.size === 0)) ctx.store.kv.release(view.base);
  if (!failure && view && view.writes.size > 0) {
    try {
      await ctx.store.kv.commit(call.pluginId, view.base, view.writes, kvLimits(ctx, call)!);
    } catch (e) {
      const code = (e as { code?: CallError["class"] }).code ?? "storage_error";
      error = { class: code, message: e instanceof Error ? e.message : String(e) };
      replaced = true;
    }
  }
  if (run) {
    reportDropped(
      ctx,
      call,
      "plugin.log_dropped",
      "warn",
      run.logDropped,
      ctx.policy.logLinesPerRun,
    );
    reportDropped(
      ctx,
      call,
      "secret.injected_dropped",
      "info",
      run.injectedDropped,
      ctx.policy.injectedPerRun,
    );
    // Denials past the run's budget: answered permission_denied but not written one by one.
    reportDropped(
      ctx,
      call,
      "audit.denied_dropped",
      "warn",
      run.deniedDropped,
      ctx.policy.deniedPerRun,
    );
  }
  const secrets = knownSecrets(ctx, call.pluginId, run ? [run] : []);
  if (error) {
    const message = redactText(error.message, secrets);
    if (message !== error.message) {
      error = { ...error, message };
      replaced = true;
    }
    return replaced ? error : null;
  }
  if (outcome.ok) {
    const output = redactBytes(outcome.output, secrets);
    if (output !== outcome.output) return { output };
  }
  return null;
}

/** The call's KV limits, or null when KV is not granted. */
function kvLimits(ctx: CapabilityContext, call: HostCall): KvLimits | null {
  const grants = grantsFor(ctx, call);
  return grants.kvQuotaBytes === null
    ? null
    : { quotaBytes: grants.kvQuotaBytes, maxKeys: grants.kvMaxKeys ?? 0 };
}

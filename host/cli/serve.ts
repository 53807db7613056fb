/**
 * `host serve`: the HTTP API over the installed plugins and a plugins
 * directory, until SIGINT or SIGTERM (then a graceful shutdown).
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { z } from "zod";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import { onSignal } from "../adapter/signals.ts";
import { capabilityProvider, SECRETS_KEY_ENV } from "../capabilities/mod.ts";
import { createHost } from "../host.ts";
import { admitter, defaultPolicyPath, lifecycleSettings, loadPolicy } from "../policy/mod.ts";
import { watchTrust } from "../core/mod.ts";
import { LiveTrustStore } from "../trust/mod.ts";
import type { ServerOptions } from "../server/context.ts";
import { startServer } from "../server/start.ts";
import { type CliIo, type Command, commonOptions, intFlag, parseFlags } from "./command.ts";
import { startHints } from "./serve-hints.ts";
import { allowedHostsOption, hostFlagOptions } from "./serve-hosts.ts";
import { AllowedHostName } from "../server/host-check.ts";
import {
  describeEvidence,
  EvidenceConfig,
  evidenceFlagOptions,
  evidenceOptions,
} from "./serve-evidence.ts";
import { registryOf } from "../registry/mod.ts";
import { MIN_WORKER_CPU_CORES, setWorkerCpuCores } from "../sandbox/mod.ts";

const usage = `Usage: host serve [options]

Serves the HTTP API (docs/http-api.md): capability calls, plugins, runs, events,
/healthz, /readyz, /metrics, /openapi.json. Loads the installed plugins and every
*.wasm in --plugins; a plugin that fails verification is reported and skipped.
Stops gracefully on SIGINT/SIGTERM. The trust store is watched: a revoked or
removed key stops its plugins within seconds (event plugin.stopped); SIGHUP
reloads it at once. Create tokens with \`host tokens create\`.

Options:
  --host ADDR          Interface to bind (default 127.0.0.1)
  --allowed-host NAME  Also answer requests whose Host header is NAME (any port; '.example.com':
                       it and its subdomains; repeatable). On a loopback address only loopback
                       names are answered by default (against DNS rebinding; others get 421); on
                       another address naming hosts turns the check on
  --allow-any-host     Answer every Host (behind a proxy that checks Host itself)
  --port N             Port (default 8787; 0 picks a free one)
  --plugins DIR        Also load every plugin file in DIR (repeatable)
  --db URL             Database (default: $PLUGHOST_DB or $PLUGHOST_HOME/host.db)
  --trust PATH         Trust store (default: $PLUGHOST_TRUST or $PLUGHOST_HOME/trust)
  --policy FILE        Operator policy (docs/policy.md; default: $PLUGHOST_HOME/policy.json,
                       absent: the built-in policy); plugins that exceed it are refused or clamped
  --home DIR           Data directory (default: $PLUGHOST_HOME or ./.plughost)
  --env NAME           This host's environment: plugins get the config overlay stored for it
                       (host config set --env NAME; default: $PLUGHOST_ENV; none: the base)
  --secrets-file PATH  Plugin secrets: a JSON file or a directory of files (docs/security.md#secrets;
                       default: the policy's secretsFile, else $PLUGHOST_SECRETS_FILE); database
                       secrets need $PLUGHOST_SECRETS_KEY
  --config FILE        JSON config with any of: host, allowedHosts, allowAnyHost, port, plugins, db, trust, home, policy, env,
                       secretsFile, maxBodyBytes, maxUploadBytes, rateLimit {perSecond, burst},
                       validateOutput, allowUnsigned, graceMs, pluginCpu, privateOpenApi,
                       evidence {dir, onRunFailed: [classes] | "*", onSuspended} (flags win)
  --max-body N         Largest JSON body in bytes (default 1048576)
  --rate-limit N       Requests per second per token (default 100; 0: no limit)
  --grace-ms N         Shutdown waits this long for calls in flight (default 10000)
  --plugin-cpu CORES   Cores plugin code in workers may use together, over time, from 0.05
                       (default: the machine's less 1.5, at least 0.25; docs/sandbox.md rule 11)
  --validate-output    Check capability output against its schema (development)
  --private-openapi    Serve /openapi.json only to tokens with scope read (default: public)
  --allow-unsigned     Dev mode: load unsigned or untrusted plugins (each load is a warn event)
  --registry           Also serve a plugin registry under /v1/registry/ (docs/registry.md):
                       publishes are verified against this host's trust store
  --evidence-dir DIR   Write evidence bundles here when a trigger below fires (docs/replay.md)
  --evidence-on-failed CLASSES
                       Trigger: a run failing with one of these error classes (comma-separated,
                       repeatable; '*' for any) gets <DIR>/<run id>.evidence
  --evidence-on-suspended
                       Trigger: a plugin its circuit breaker suspends gets a bundle of its
                       recent runs; each bundle is an evidence.written event

Exit codes: 0 stopped by a signal; 64 usage; 65 bad config; 91 storage; 93 cannot listen.
`;

/**
 * Where `serve` reads the secrets file: the flag (or config), else the
 * policy's (relative to the policy file), else `$PLUGHOST_SECRETS_FILE`.
 */
export function secretsFileOf(
  flag: string | undefined,
  fromPolicy: string | undefined,
  policyFile: string | undefined,
  io: Pick<CliIo, "cwd" | "env">,
): string | undefined {
  if (flag !== undefined) return resolve(io.cwd, flag);
  if (fromPolicy !== undefined) {
    return resolve(policyFile === undefined ? io.cwd : dirname(policyFile), fromPolicy);
  }
  return io.env.PLUGHOST_SECRETS_FILE;
}

const ConfigFile = z.strictObject({
  host: z.string().min(1).optional(),
  allowedHosts: z.array(AllowedHostName).optional(),
  allowAnyHost: z.boolean().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  plugins: z.union([z.string(), z.array(z.string())]).optional(),
  db: z.string().optional(),
  trust: z.string().optional(),
  home: z.string().optional(),
  policy: z.string().optional(),
  env: z.string().optional(),
  secretsFile: z.string().optional(),
  maxBodyBytes: z.number().int().positive().optional(),
  maxUploadBytes: z.number().int().positive().optional(),
  rateLimit: z.strictObject({
    perSecond: z.number().nonnegative(),
    burst: z.number().int().positive().optional(),
  }).optional(),
  validateOutput: z.boolean().optional(),
  allowUnsigned: z.boolean().optional(),
  graceMs: z.number().int().nonnegative().optional(),
  pluginCpu: z.number().min(MIN_WORKER_CPU_CORES).finite().optional(),
  privateOpenApi: z.boolean().optional(),
  evidence: EvidenceConfig.optional(),
});
type ConfigFile = z.infer<typeof ConfigFile>;

export const command: Command = {
  name: "serve",
  summary: "Serve the HTTP API (capability calls, plugins, runs, events)",
  usage,
  async run(args, io) {
    const { values } = parseFlags(args, {
      ...commonOptions,
      host: { type: "string" },
      ...hostFlagOptions,
      port: { type: "string" },
      plugins: { type: "string", multiple: true },
      db: { type: "string" },
      trust: { type: "string" },
      home: { type: "string" },
      policy: { type: "string" },
      env: { type: "string" },
      "secrets-file": { type: "string" },
      config: { type: "string" },
      "max-body": { type: "string" },
      "rate-limit": { type: "string" },
      "grace-ms": { type: "string" },
      "plugin-cpu": { type: "string" },
      "validate-output": { type: "boolean" },
      "allow-unsigned": { type: "boolean" },
      "private-openapi": { type: "boolean" },
      registry: { type: "boolean" },
      ...evidenceFlagOptions,
    }, 0);
    const config = values.config === undefined ? {} : await readConfig(values.config, io.cwd);
    // Process-wide, before any plugin runs (host/sandbox/worker-refuel.ts).
    const pluginCpu = coresFlag(values["plugin-cpu"]) ?? config.pluginCpu;
    if (pluginCpu !== undefined) setWorkerCpuCores(pluginCpu);
    // Checked before anything opens: a bad trigger is a usage or config error, not a late surprise.
    const evidence = evidenceOptions(values, config.evidence, io.cwd, values.config);
    const allowedHosts = allowedHostsOption(values, config);
    const paths = resolvePaths(io.env, io.cwd, {
      home: values.home ?? config.home,
      db: values.db ?? config.db,
      trust: values.trust ?? config.trust,
    });
    const port = values.port === "0" ? 0 : intFlag("port", values.port) ?? config.port ?? 8787;
    const rate = values["rate-limit"] === "0"
      ? 0
      : intFlag("rate-limit", values["rate-limit"]) ?? config.rateLimit?.perSecond;
    const options: Partial<ServerOptions> = {
      ...(config.maxUploadBytes ? { maxUploadBytes: config.maxUploadBytes } : {}),
      validateOutput: values["validate-output"] ?? config.validateOutput ?? false,
      privateOpenApi: values["private-openapi"] ?? config.privateOpenApi ?? false,
    };
    const maxBody = intFlag("max-body", values["max-body"]) ?? config.maxBodyBytes;
    if (maxBody !== undefined) options.maxBodyBytes = maxBody;
    if (rate !== undefined) {
      options.rateLimitPerSecond = rate;
      options.rateLimitBurst = config.rateLimit?.burst ?? Math.max(1, rate * 2);
    }
    const configPlugins = typeof config.plugins === "string" ? [config.plugins] : config.plugins;
    const pluginDirs = (values.plugins ?? configPlugins ?? []).map((d) => resolve(io.cwd, d));

    const policyFlag = values.policy ?? config.policy;
    const { policy, file: policyFile } = await loadPolicy(
      policyFlag === undefined ? defaultPolicyPath(paths.home) : resolve(io.cwd, policyFlag),
      policyFlag !== undefined,
    );
    const secretsFile = secretsFileOf(
      values["secrets-file"] ?? config.secretsFile,
      policy.secretsFile,
      policyFile,
      io,
    );
    const trust = await LiveTrustStore.open(paths.trust);
    const host = await createHost({
      paths,
      pluginDirs,
      trust,
      admit: admitter(policy, policyFile ? `the policy ${policyFile}` : "the built-in policy"),
      lifecycle: lifecycleSettings(policy),
      hostFunctions: capabilityProvider({
        operatorPolicy: policy,
        ...(secretsFile === undefined ? {} : { secretsFile }),
        secretsKey: () => io.env[SECRETS_KEY_ENV],
      }),
      allowUnsigned: values["allow-unsigned"] ?? config.allowUnsigned ?? false,
      config: {
        env: values.env ?? config.env ?? (io.env.PLUGHOST_ENV || undefined),
        variables: io.env,
      },
      ...(evidence ? { evidence } : {}),
    });
    if (evidence) io.stderr(`host serve: ${describeEvidence(evidence)}\n`);
    for (const f of host.failed) io.stderr(`host serve: skipped ${f.source}: ${f.error}\n`);
    const unwatch = watchTrust(host.runtime, trust, {
      onStopped: (stopped) => {
        for (const s of stopped) {
          io.stderr(
            `host serve: stopped ${s.id}: its signer ${s.keyIds.join(", ")} is no longer trusted\n`,
          );
        }
      },
    });
    const offHup = onSignal("SIGHUP", () => {
      io.stderr("host serve: SIGHUP: reloading the trust store\n");
      trust.reloadNow().catch((error: unknown) =>
        io.stderr(`host serve: the trust store did not reload: ${(error as Error).message}\n`)
      );
    });
    let server;
    try {
      server = await startServer({
        host,
        hostname: values.host ?? config.host ?? "127.0.0.1",
        ...(allowedHosts === undefined ? {} : { allowedHosts }),
        port,
        options,
        graceMs: intFlag("grace-ms", values["grace-ms"]) ?? config.graceMs ?? 10_000,
        log: (line) => io.stderr(`host serve: ${line}\n`),
        ...(values.registry ? { registry: registryOf(host) } : {}),
        secretsKey: () => io.env[SECRETS_KEY_ENV],
      });
    } catch (error) {
      unwatch();
      offHup();
      await host.close();
      throw error;
    }
    // Schedules (docs/scheduling.md) run on every serving host; leases keep each occurrence to one.
    const scheduler = await host.startScheduler()
      .catch(async (error) => {
        await server.close();
        throw error;
      });
    // Event delivery to onEvent hooks (docs/delivery.md): leases keep each subscriber to one host;
    // closing the host stops it before the plugins unload.
    host.startDelivery();
    const ready = {
      url: server.url,
      plugins: host.loaded.map((p) => ({ id: p.id, version: p.version, state: p.state })),
      failed: host.failed,
    };
    // Listen for the stop signal before saying "listening": a supervisor (or a test) that
    // stops the server as soon as it reads that line must get a graceful stop.
    const stopSignal = waitForSignal();
    const hints = await startHints(host.store, paths.trust, host.loaded.length);
    if (values.json) io.stdout(JSON.stringify({ event: "listening", ...ready, hints }) + "\n");
    else {
      io.stdout(
        `host serve: listening on ${server.url} (${host.loaded.length} plugin(s): ${
          host.loaded.map((p) => `${p.id}@${p.version}`).join(", ") || "none"
        })\n`,
      );
      for (const hint of hints) io.stdout(`host serve: next: ${hint.message}\n`);
    }
    const signal = await stopSignal;
    io.stderr(`host serve: ${signal}: shutting down\n`);
    unwatch();
    offHup();
    await scheduler.stop();
    const { interrupted } = await server.close();
    if (interrupted.length > 0) {
      io.stderr(`host serve: marked ${interrupted.length} unfinished run(s) interrupted\n`);
    }
    if (values.json) io.stdout(JSON.stringify({ event: "stopped", signal, interrupted }) + "\n");
    return ExitCode.ok;
  },
};

function waitForSignal(): Promise<string> {
  return new Promise((resolvePromise) => {
    const on = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolvePromise(signal);
    };
    const onInt = () => on("SIGINT");
    const onTerm = () => on("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}

async function readConfig(path: string, cwd: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), "utf8");
  } catch (error) {
    throw new HostError(
      "invalid_input",
      `Cannot read the config file '${path}': ${(error as { code?: string }).code ?? error}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HostError(
      "invalid_input",
      `The config file '${path}' is not JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    throw new HostError(
      "invalid_input",
      `The config file '${path}' is invalid:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** `--plugin-cpu`: a number of cores (fractions allowed, at least the minimum), or undefined when not given. */
function coresFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const cores = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !Number.isFinite(cores) || cores < MIN_WORKER_CPU_CORES) {
    throw new UsageError(
      `--plugin-cpu takes a number of cores from ${MIN_WORKER_CPU_CORES} (e.g. 1 or 0.5), got '${value}'`,
    );
  }
  return cores;
}

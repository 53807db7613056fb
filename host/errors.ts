/**
 * One error family for the whole host. Every failure a user can see carries a
 * stable `code`; this file is the one place that maps codes to CLI exit codes
 * and HTTP statuses (and so to problem+json types, see host/server/problem.ts).
 * @module
 */

/** Process exit codes (see docs/cli.md). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  strict: 2,
  usage: 64,
  dataError: 65,
  storage: 91,
  runtime: 92,
  network: 93,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * How each error code surfaces: the CLI's exit code and the HTTP status of its
 * problem+json answer (`type` is `https://plughost.dev/problems/<code>`). The
 * one table of the error family: add a code here and both mappings follow.
 */
const codes = {
  usage: [ExitCode.usage, 400],
  invalid_input: [ExitCode.dataError, 400],
  /** Input that is not JSON where JSON is expected (a capability's input, a request body). */
  invalid_json: [ExitCode.dataError, 400],
  /** Input that is JSON but does not match the capability's input schema. */
  schema_mismatch: [ExitCode.dataError, 422],
  invalid_manifest: [ExitCode.dataError, 422],
  /** Plugin config (set by an operator, or from the environment) that fails the manifest's config schema. */
  invalid_config: [ExitCode.dataError, 422],
  verification_failed: [ExitCode.failed, 422],
  not_found: [ExitCode.failed, 404],
  route_not_found: [ExitCode.usage, 404],
  /** A known path asked with a method it does not answer (HTTP: `Allow` lists the ones it does). */
  method_not_allowed: [ExitCode.usage, 405],
  conflict: [ExitCode.failed, 409],
  unauthorized: [ExitCode.failed, 401],
  forbidden: [ExitCode.failed, 403],
  /**
   * A request whose Host the server does not answer to (DNS rebinding check,
   * host/server/host-check.ts): 421 Misdirected Request.
   */
  host_not_allowed: [ExitCode.usage, 421],
  permission_denied: [ExitCode.failed, 403],
  quota_exceeded: [ExitCode.failed, 413],
  payload_too_large: [ExitCode.dataError, 413],
  unsupported_media_type: [ExitCode.dataError, 415],
  rate_limited: [ExitCode.failed, 429],
  /** A plugin's `invoke` refused: a cycle, or a chain deeper than the host allows. */
  invoke_refused: [ExitCode.failed, 409],
  /** Plugin dependencies that cannot be met: missing, conflicting ranges, or a cycle (details.kind). */
  dependency_error: [ExitCode.failed, 409],
  /** An update asks for permissions the operator has not accepted (details.added). */
  consent_required: [ExitCode.failed, 409],
  /** A host call with outside effects (http_request, invoke, secret_get) refused in strict mode. */
  nondeterministic: [ExitCode.failed, 403],
  /** A replay refused: the run's input, module, tape or replay record is not available. */
  not_replayable: [ExitCode.dataError, 422],
  /** A replay run whose plugin left the recorded tape (another host call or request) and failed. */
  replay_diverged: [ExitCode.failed, 409],
  load_error: [ExitCode.failed, 422],
  fuel_exhausted: [ExitCode.failed, 422],
  memory_limit: [ExitCode.failed, 422],
  timeout: [ExitCode.failed, 504],
  stack_overflow: [ExitCode.failed, 422],
  trap: [ExitCode.failed, 500],
  plugin_error: [ExitCode.failed, 422],
  output_too_large: [ExitCode.failed, 422],
  /** Output that is not JSON, or (when asked) off its capability's output schema. */
  output_invalid: [ExitCode.failed, 500],
  busy: [ExitCode.failed, 429],
  not_ready: [ExitCode.runtime, 503],
  /** The plugin's circuit breaker is open (docs/lifecycle.md); HTTP adds `Retry-After`. */
  plugin_suspended: [ExitCode.failed, 503],
  host_error: [ExitCode.runtime, 500],
  storage_error: [ExitCode.storage, 503],
  network_error: [ExitCode.network, 502],
  /** Every provider of a contract operation failed (each one's error is listed). */
  providers_failed: [ExitCode.failed, 502],
} as const satisfies Record<string, readonly [ExitCode, number]>;

/**
 * Stable error codes. Sandbox codes are documented in docs/sandbox.md; the
 * HTTP problem `type` is `https://plughost.dev/problems/<code>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const code: ErrorCode = "invalid_json";
 * assert.equal(new HostError(code, "The input is not valid JSON").exitCode, 65);
 * ```
 */
export type ErrorCode = keyof typeof codes;

/** Every error code, for checks and docs. */
export const errorCodes = Object.keys(codes) as ErrorCode[];

/** True when `value` is a known error code. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(codes, value);
}

/** Options of a HostError beyond its code and message. */
export interface HostErrorOptions {
  cause?: unknown;
  /** Machine-readable details (HTTP: the problem's `details` member). */
  details?: Record<string, unknown>;
  /** Extra members of the HTTP problem body (e.g. `errors`, `runId`). */
  extensions?: Record<string, unknown>;
  /** Extra HTTP response headers (e.g. `x-run-id`, `retry-after`). */
  headers?: Record<string, string>;
  /** An HTTP status other than the code's own (rare; the table decides otherwise). */
  status?: number;
}

/**
 * An error with a stable code, a message that says what to do, and optional
 * details; its exit code and HTTP status come from the one table above.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const error = new HostError("schema_mismatch", "The input does not match the input schema", {
 *   extensions: { errors: [{ path: "/name", message: "must be string" }] },
 * });
 * assert.equal(error.exitCode, 65);
 * assert.equal(error.httpStatus, 422);
 * assert.ok(error instanceof Error);
 * ```
 */
export class HostError extends Error {
  override readonly name: string = "HostError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly #status: number | undefined;

  constructor(code: ErrorCode, message: string, options?: HostErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
    this.extensions = options?.extensions ?? {};
    this.headers = options?.headers ?? {};
    this.#status = options?.status;
  }

  /**
   * A HostError without a stack trace, for refusing a caller's request (its
   * input, its target): answered, never logged with a stack. Capturing one
   * costs Node ~6 us at 25 frames deep, ten times the error without it, and a
   * client can send refusals as fast as it likes.
   */
  static refusal(code: ErrorCode, message: string, options?: HostErrorOptions): HostError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new HostError(code, message, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  get exitCode(): ExitCode {
    return exitCodeFor(this.code);
  }

  get httpStatus(): number {
    return this.#status ?? httpStatusFor(this.code);
  }
}

/** The exit code of an error code (an unknown one is a host bug: 92). */
export function exitCodeFor(code: string): ExitCode {
  return isErrorCode(code) ? codes[code][0] : ExitCode.runtime;
}

/** The HTTP status of an error code (an unknown one: 500). */
export function httpStatusFor(code: string): number {
  return isErrorCode(code) ? codes[code][1] : 500;
}

/** Bad command-line usage: the CLI prints usage and exits 64. */
export class UsageError extends HostError {
  override readonly name = "UsageError";
  constructor(message: string) {
    super("usage", message);
  }
}

/** Exit code for any thrown value: HostErrors by code, anything else is a host bug (92). */
export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof HostError ? error.exitCode : ExitCode.runtime;
}

/** HTTP status for any thrown value. */
export function httpStatusOf(error: unknown): number {
  return error instanceof HostError ? error.httpStatus : 500;
}

/**
 * One error family for the whole host. Every failure a user can see carries a
 * stable `code`; this file is the one place that maps codes to CLI exit codes
 * and HTTP statuses.
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

/** Stable error codes. Sandbox classes are documented in docs/sandbox.md. */
export type ErrorCode =
  | "usage"
  | "invalid_input"
  | "invalid_manifest"
  | "verification_failed"
  | "not_found"
  | "conflict"
  | "unauthorized"
  | "forbidden"
  | "permission_denied"
  | "quota_exceeded"
  | "rate_limited"
  | "load_error"
  | "fuel_exhausted"
  | "memory_limit"
  | "timeout"
  | "stack_overflow"
  | "trap"
  | "plugin_error"
  | "output_too_large"
  | "busy"
  | "host_error"
  | "storage_error"
  | "network_error";

const exitCodes: Record<ErrorCode, ExitCode> = {
  usage: ExitCode.usage,
  invalid_input: ExitCode.dataError,
  invalid_manifest: ExitCode.dataError,
  verification_failed: ExitCode.failed,
  not_found: ExitCode.failed,
  conflict: ExitCode.failed,
  unauthorized: ExitCode.failed,
  forbidden: ExitCode.failed,
  permission_denied: ExitCode.failed,
  quota_exceeded: ExitCode.failed,
  rate_limited: ExitCode.failed,
  load_error: ExitCode.failed,
  fuel_exhausted: ExitCode.failed,
  memory_limit: ExitCode.failed,
  timeout: ExitCode.failed,
  stack_overflow: ExitCode.failed,
  trap: ExitCode.failed,
  plugin_error: ExitCode.failed,
  output_too_large: ExitCode.failed,
  busy: ExitCode.failed,
  host_error: ExitCode.runtime,
  storage_error: ExitCode.storage,
  network_error: ExitCode.network,
};

const httpStatuses: Record<ErrorCode, number> = {
  usage: 400,
  invalid_input: 400,
  invalid_manifest: 422,
  verification_failed: 422,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  permission_denied: 403,
  quota_exceeded: 413,
  rate_limited: 429,
  load_error: 422,
  fuel_exhausted: 422,
  memory_limit: 422,
  timeout: 504,
  stack_overflow: 422,
  trap: 500,
  plugin_error: 422,
  output_too_large: 422,
  busy: 429,
  host_error: 500,
  storage_error: 503,
  network_error: 502,
};

/** An error with a stable code, a message that says what to do, and optional details. */
export class HostError extends Error {
  override readonly name: string = "HostError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  get exitCode(): ExitCode {
    return exitCodes[this.code];
  }

  get httpStatus(): number {
    return httpStatuses[this.code];
  }
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

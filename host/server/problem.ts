/**
 * Errors as `application/problem+json` (RFC 9457): every error has a stable
 * `type` URI built from its code, a status, a human `detail`, and never a
 * stack trace. Codes map to statuses in host/errors.ts, the one table of the
 * error family; this file only writes the body.
 * @module
 */
import { HTTPException } from "hono/http-exception";
import { type ErrorCode, HostError, httpStatusFor } from "../errors.ts";

/** Base of every problem `type`: `${PROBLEM_BASE}<code>`, listed in docs/http-api.md. */
export const PROBLEM_BASE = "https://plughost.dev/problems/";

/** Every problem code: an error code of the host's one family (host/errors.ts). */
export type ProblemCode = ErrorCode;

/** The JSON body of a problem response. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The code the `type` ends with, for clients that switch on it. */
  code: ProblemCode;
  [extension: string]: unknown;
}

/**
 * A HostError thrown by routes and middleware, named for where it is used;
 * `status`, `extensions` and `headers` are the HostError's own. It carries no
 * stack: it is a client's answer, never logged with one and never sent one,
 * and on Node capturing it was the largest cost of a refused request (~7% of
 * a 415; Deno's Error costs the same with or without, see docs/performance.md).
 */
export class ProblemError extends HostError {
  override readonly name = "ProblemError";

  constructor(
    code: ProblemCode,
    detail: string,
    options: {
      status?: number;
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code, detail, options);
    Error.stackTraceLimit = limit;
  }

  /** The HTTP status this problem answers with. */
  get status(): number {
    return this.httpStatus;
  }
}

/** The status a problem code has by default (host/errors.ts's table). */
export function statusOf(code: ProblemCode): number {
  return httpStatusFor(code);
}

/** Builds a problem+json response. */
export function problemResponse(
  code: ProblemCode,
  detail: string,
  options: {
    status?: number;
    extensions?: Record<string, unknown>;
    headers?: Record<string, string>;
  } = {},
): Response {
  const status = options.status ?? statusOf(code);
  const body: ProblemBody = {
    ...options.extensions,
    type: PROBLEM_BASE + code,
    title: titleOf(code),
    status,
    detail,
    code,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...options.headers },
  });
}

/**
 * The response for anything thrown while handling a request. HostErrors and
 * ProblemErrors keep their code and message; anything else is a host bug and
 * answers 500 with a fixed detail (the caller logs the error itself).
 */
export function problemFromError(error: unknown): Response {
  if (error instanceof HostError) {
    const retry: Record<string, string> = error.code === "busy" || error.code === "rate_limited"
      ? { "retry-after": "1" }
      : {};
    return problemResponse(error.code, error.message, {
      status: error.httpStatus,
      extensions: error.details
        ? { ...error.extensions, details: error.details }
        : error.extensions,
      headers: { ...retry, ...error.headers },
    });
  }
  if (error instanceof HTTPException && error.status < 500) {
    // Hono's own validators (the JSON body of a zod-openapi route) throw these: a client error.
    const code: ProblemCode = error.status === 415
      ? "unsupported_media_type"
      : error.status === 413
      ? "payload_too_large"
      : error.status === 400
      ? "invalid_json"
      : "invalid_input";
    const detail = error.status === 415
      ? "Send the body as application/json"
      : error.status === 400
      ? "The request body is not valid JSON"
      : error.message.slice(0, 200);
    return problemResponse(code, detail, { status: error.status });
  }
  return problemResponse(
    "host_error",
    "The host failed while handling this request; the error is in its event log (type server.error)",
  );
}

/** Whether `error` is a client's fault already answered by `problemFromError` (not logged). */
export function isClientError(error: unknown): boolean {
  return error instanceof HostError || error instanceof ProblemError ||
    (error instanceof HTTPException && error.status < 500);
}

/**
 * The `title` of each problem code: a short, fixed summary in sentence case
 * (RFC 9457: the same for every occurrence of the type); the `detail` says
 * what happened this time and what to do.
 */
export const problemTitles: Readonly<Record<ProblemCode, string>> = {
  usage: "Bad request",
  invalid_input: "Invalid input",
  invalid_json: "Invalid JSON",
  schema_mismatch: "Input does not match the schema",
  invalid_manifest: "Invalid plugin manifest",
  invalid_config: "Config does not match the schema",
  verification_failed: "Plugin verification failed",
  not_found: "Not found",
  route_not_found: "No such route",
  method_not_allowed: "Method not allowed",
  conflict: "Conflict",
  unauthorized: "Authentication required",
  forbidden: "Forbidden",
  host_not_allowed: "Host not allowed",
  permission_denied: "Permission denied",
  quota_exceeded: "Quota exceeded",
  payload_too_large: "Request body too large",
  unsupported_media_type: "Unsupported media type",
  rate_limited: "Too many requests",
  invoke_refused: "Plugin call refused",
  dependency_error: "Plugin dependencies cannot be met",
  consent_required: "New permissions need consent",
  nondeterministic: "Refused in strict determinism mode",
  not_replayable: "Run cannot be replayed",
  replay_diverged: "Replay diverged from the recorded run",
  load_error: "Plugin failed to load",
  fuel_exhausted: "Fuel exhausted",
  memory_limit: "Memory limit reached",
  timeout: "Timed out",
  stack_overflow: "Stack overflow",
  trap: "Plugin trapped",
  plugin_error: "Plugin returned an error",
  output_too_large: "Output too large",
  output_invalid: "Invalid plugin output",
  busy: "Plugin busy",
  not_ready: "Not ready",
  plugin_suspended: "Plugin suspended",
  host_error: "Internal error",
  storage_error: "Storage unavailable",
  network_error: "Network error",
  providers_failed: "Every provider failed",
};

function titleOf(code: ProblemCode): string {
  return problemTitles[code] ?? "Error";
}

/**
 * Errors as `application/problem+json` (RFC 9457): every error has a stable
 * `type` URI built from its code, a status, a human `detail`, and never a
 * stack trace. HostError codes map to statuses in host/errors.ts; the few
 * errors only HTTP has (malformed JSON, wrong media type, ...) live here.
 * @module
 */
import { HTTPException } from "hono/http-exception";
import { type ErrorCode, HostError } from "../errors.ts";

/** Base of every problem `type`: `${PROBLEM_BASE}<code>`, listed in docs/http-api.md. */
export const PROBLEM_BASE = "https://plughost.dev/problems/";

/** Problem codes only the HTTP layer has, with their statuses. */
export const httpProblems = {
  invalid_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  route_not_found: 404,
  schema_mismatch: 422,
  output_invalid: 500,
  not_ready: 503,
} as const;

/** Every problem code: a HostError code or an HTTP-only one. */
export type ProblemCode = ErrorCode | keyof typeof httpProblems;

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

/** An HTTP-layer error with a problem code; thrown by routes and middleware. */
export class ProblemError extends Error {
  override readonly name = "ProblemError";
  readonly code: ProblemCode;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ProblemCode,
    detail: string,
    options: {
      status?: number;
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.code = code;
    this.status = options.status ?? statusOf(code);
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/** The status a problem code has by default. */
export function statusOf(code: ProblemCode): number {
  return Object.hasOwn(httpProblems, code)
    ? httpProblems[code as keyof typeof httpProblems]
    : new HostError(code as ErrorCode, "").httpStatus;
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
  if (error instanceof ProblemError) {
    return problemResponse(error.code, error.message, {
      status: error.status,
      extensions: error.extensions,
      headers: error.headers,
    });
  }
  if (error instanceof HostError) {
    const headers: Record<string, string> = error.code === "busy" || error.code === "rate_limited"
      ? { "retry-after": "1" }
      : {};
    return problemResponse(error.code, error.message, {
      headers,
      ...(error.details ? { extensions: { details: error.details } } : {}),
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

function titleOf(code: ProblemCode): string {
  const words = code.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

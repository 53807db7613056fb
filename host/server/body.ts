/**
 * Reading request bodies with a size limit (413 past it, without buffering
 * more than the limit) and checking their media type and charset (415).
 * @module
 */
import type { Context } from "hono";
import { jsonShapeProblem } from "../core/json-shape.ts";
import { ProblemError } from "./problem.ts";

/** Reads the whole body, refusing more than `limit` bytes. */
export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = c.req.header("content-length");
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
    throw tooLarge(limit);
  }
  if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
    // The runtime holds the body to its declared length; reading it whole skips the web
    // stream, which @hono/node-server otherwise has to build from the Node request.
    try {
      return new Uint8Array(await c.req.arrayBuffer());
    } catch (error) {
      throw bodyCutShort(error);
    }
  }
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw bodyCutShort(error);
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Throws 415 unless the request's media type is one of `types`, in UTF-8 (`requireUtf8`). */
export function requireMediaType(c: Context, types: readonly string[]): void {
  const header = c.req.header("content-type");
  const type = header?.split(";")[0]?.trim().toLowerCase();
  if (type === undefined || !types.includes(type)) {
    throw new ProblemError(
      "unsupported_media_type",
      `Send the body as ${types.join(" or ")} (got ${
        header === undefined ? "no Content-Type" : `'${header.slice(0, 100)}'`
      })`,
    );
  }
  requireUtf8(header);
}

/** Charsets whose bytes the host's UTF-8 decoder reads as meant (US-ASCII is a subset). */
const UTF8_CHARSETS = new Set(["utf-8", "utf8", "us-ascii"]);

// `; name=value`, value a token or a quoted-string (RFC 9110 5.6.6).
const PARAMETER = /;\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;

/**
 * Throws 415 when the Content-Type `header` declares a charset other than
 * UTF-8 or US-ASCII (any case, quoted or not): every body is decoded as UTF-8,
 * so a UTF-16 or Latin-1 body would be read as other text than was sent.
 */
export function requireUtf8(header: string | undefined): void {
  if (header === undefined || !header.includes(";")) return;
  for (const [, name, raw] of header.matchAll(PARAMETER)) {
    if (name!.toLowerCase() !== "charset") continue;
    const value = (raw!.startsWith('"') ? raw!.slice(1, -1).replaceAll(/\\(.)/g, "$1") : raw!)
      .trim();
    if (!UTF8_CHARSETS.has(value.toLowerCase())) {
      throw new ProblemError(
        "unsupported_media_type",
        `The body declares charset '${value.slice(0, 40)}'; the server reads only UTF-8: send it ` +
          "as UTF-8 with charset=utf-8 or no charset",
        { extensions: { charset: value.slice(0, 40) } },
      );
    }
  }
}

/**
 * Parses a UTF-8 JSON body; 400 `invalid_json` with the parser's reason otherwise, or for
 * nesting past MAX_JSON_DEPTH or a key given twice (host/core/json-shape.ts).
 */
export function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) {
    throw new ProblemError("invalid_json", "The request body is empty: send a JSON value, e.g. {}");
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ProblemError("invalid_json", "The request body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ProblemError("invalid_json", `The request body is not valid JSON: ${reason}`);
  }
  const problem = jsonShapeProblem(text, value);
  if (problem !== undefined) throw new ProblemError("invalid_json", `The request body ${problem}`);
  return value;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A body the client stopped sending (hung up, or the server cut it): a 400
 * with a fixed detail. The runtime's own error (and its stack) goes nowhere:
 * it says nothing the client needs, and events are readable by `read` tokens.
 */
export function bodyCutShort(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  return new ProblemError(
    "invalid_input",
    "The request body ended before it was complete (the connection closed): send it again",
  );
}

function tooLarge(limit: number): ProblemError {
  return new ProblemError(
    "payload_too_large",
    `The request body is larger than ${limit} bytes: send less, or raise the server's limit`,
    { extensions: { limit } },
  );
}

// deno-fmt-ignore-file: deno fmt drops decorators on declared functions.
/**
 * HTTP through Extism's built-in `http_request` (the AssemblyScript PDK
 * 1.0.0 has no helper). Only hosts in the manifest's
 * `permissions.http.allowedHosts` are reachable.
 * @module
 */

import { free } from "@extism/as-pdk/lib/env";
import { readBlock } from "./host";
import { storeBytes } from "./io";
import {
  JSONObject,
  JSONValue,
  ParseResult,
  tryParseBytes,
  utf8Decode,
  utf8Encode,
} from "./json";
import { err, ok, Result } from "./result";

// @ts-ignore: decorator
@external("extism:host/env", "http_request")
declare function http_request(request: u64, body: u64): u64;

// @ts-ignore: decorator
@external("extism:host/env", "http_status_code")
declare function http_status_code(): i32;

// @ts-ignore: decorator
@external("extism:host/env", "http_headers")
declare function http_headers(): u64;

/** An HTTP request: method, URL, headers and an optional body (ignored for GET and HEAD). */
export class HttpRequest {
  /** Request headers, name -> value. */
  headers: Map<string, string> = new Map();
  /** The body, or null for none. */
  body: Uint8Array | null = null;
  constructor(
    public url: string,
    public method: string = "GET",
  ) {}
  /** Sets a header; returns this request for chaining. */
  header(name: string, value: string): HttpRequest {
    this.headers.set(name, value);
    return this;
  }
  /** Sets a UTF-8 text body. */
  text(body: string): HttpRequest {
    this.body = utf8Encode(body);
    return this;
  }
  /** Sets a JSON body and the `content-type: application/json` header. */
  json(body: JSONValue): HttpRequest {
    this.header("content-type", "application/json");
    return this.text(body.toString());
  }
}

/** An HTTP response: status, body bytes, and headers when the host shares them. */
export class HttpResponse {
  constructor(
    public status: i32,
    public body: Uint8Array,
    public headers: JSONObject | null,
  ) {}
  /** The body decoded as UTF-8. */
  text(): string {
    return utf8Decode(this.body);
  }
  /** The body parsed as JSON. */
  json(): ParseResult {
    return tryParseBytes(this.body);
  }
}

/** The HTTP functions. */
export class http {
  /**
   * Sends `request`. Any status (404, 500, ...) is a successful result; a
   * request that got no response, or whose body the host dropped for its
   * size, is a `network_error`. A URL whose host is not allowed ends the
   * whole call with an error raised by Extism.
   */
  static fetch(request: HttpRequest): Result<HttpResponse> {
    const headers = new JSONObject();
    const names = request.headers.keys();
    for (let i = 0; i < names.length; i++) {
      headers.setString(names[i], request.headers.get(names[i]));
    }
    const meta = new JSONObject()
      .setString("url", request.url)
      .setString("method", request.method.toUpperCase())
      .set("headers", headers);
    const metaHandle = storeBytes(utf8Encode(meta.toString()));
    const body = request.body;
    const bodyHandle: u64 = body === null ? 0 : storeBytes(body);
    const response = http_request(metaHandle, bodyHandle);
    const status = http_status_code();
    free(metaHandle);
    if (bodyHandle != 0) free(bodyHandle);
    const what = "HTTP " + request.method + " " + request.url;
    if (status == 0) {
      if (response != 0) free(response);
      return err<HttpResponse>("network_error", what + " got no response");
    }
    // Extism gives even an empty body a block; no block after a status means the body was
    // dropped (past the host's size limit, or the read failed).
    if (response == 0) {
      return err<HttpResponse>(
        "network_error",
        what + " answered " + status.toString() +
          " but its body was not delivered (larger than the host allows, or the read failed)",
      );
    }
    const bytes = readBlock(response);
    free(response);
    let responseHeaders: JSONObject | null = null;
    const h = http_headers();
    if (h != 0) {
      const parsed = tryParseBytes(readBlock(h));
      free(h);
      if (parsed.ok && parsed.value!.isObject) {
        responseHeaders = parsed.value!.asObject();
      }
    }
    return ok<HttpResponse>(new HttpResponse(status, bytes, responseHeaders));
  }

  /** GET `url`. */
  static get(url: string): Result<HttpResponse> {
    return http.fetch(new HttpRequest(url));
  }
}

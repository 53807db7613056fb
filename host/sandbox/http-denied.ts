/**
 * Extism's kernel answers `http_request` for a plugin without allowed hosts
 * by itself (handle 0) and says so only in a log line, which a plugin can
 * write too. The sandbox replaces that kernel function, for main-thread
 * instances without allowed hosts, by one that reports the refusal to the
 * logger as `HTTP_DENIED_LINE`: a line with a random nonce made at start,
 * which no plugin can know, so a logger can audit it as the host's own
 * finding and must never record it (docs/security.md).
 * @module
 */
import type { SandboxLogger } from "./types.ts";

/** The line a refused kernel `http_request` is reported with (never stored or shown). */
export const HTTP_DENIED_LINE = `plughost:http_request-denied:${crypto.randomUUID()}`;

/** Kernel functions for an instance without allowed hosts: http answers 0 and is reported. */
export function kernelHttpDenied(logger: SandboxLogger | undefined): Record<string, () => bigint> {
  return {
    http_request: () => {
      logger?.error(HTTP_DENIED_LINE);
      return 0n;
    },
  };
}

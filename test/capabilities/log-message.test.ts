/**
 * logMessage: a plugin's log line is redacted before it is cut, so a value
 * across the cut leaves no prefix behind; the cut keeps `[redacted]` markers
 * and surrogate pairs whole.
 */
import { describe, expect, it } from "vitest";
import { logMessage, MAX_LOG_MESSAGE } from "../../host/capabilities/logger.ts";

const SECRET = "s3cr3t-VALUE-0123456789";
const TAIL = " and a tail longer than the value";

describe("logMessage", () => {
  it("keeps a short line, redacted", () => {
    expect(logMessage(`a ${SECRET} b`, [SECRET])).toBe("a [redacted] b");
    expect(logMessage("x".repeat(MAX_LOG_MESSAGE), [SECRET])).toBe("x".repeat(MAX_LOG_MESSAGE));
  });

  it("leaves no part of a value at the cut, wherever it falls in the value", () => {
    for (let before = 1; before < SECRET.length; before++) {
      const pad = "x".repeat(MAX_LOG_MESSAGE - before);
      const line = logMessage(pad + SECRET + TAIL, [SECRET]);
      expect(line.endsWith("…"), `${before}`).toBe(true);
      expect(line.length, `${before}`).toBeLessThanOrEqual(MAX_LOG_MESSAGE + 1);
      expect(line.includes(SECRET.slice(0, 3)), `${before}`).toBe(false);
      // The marker is whole or absent: one that would straddle the cut is cut before.
      const kept = before < "[redacted]".length
        ? pad
        : `${pad}[redacted]${TAIL}`.slice(0, MAX_LOG_MESSAGE);
      expect(line, `${before}`).toBe(`${kept}…`);
    }
  });

  it("keeps a marker that ends at the cut, and cuts after it otherwise", () => {
    const pad = "x".repeat(MAX_LOG_MESSAGE - 10);
    expect(logMessage(pad + SECRET + "tail", [SECRET])).toBe(`${pad}[redacted]…`);
    expect(logMessage("x".repeat(MAX_LOG_MESSAGE + 5), [])).toBe(`${"x".repeat(MAX_LOG_MESSAGE)}…`);
  });

  it("does not split a surrogate pair at the cut", () => {
    const line = logMessage("x".repeat(MAX_LOG_MESSAGE - 1) + "😀 more", []);
    expect(line).toBe(`${"x".repeat(MAX_LOG_MESSAGE - 1)}…`);
  });
});

/** The small pure parts of host/capabilities: topics, hosts, UTF-8 order, secret files. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileSecrets, hostAllowed, topicMatches } from "../../host/capabilities/mod.ts";
import { compareUtf8 } from "../../host/capabilities/abi.ts";

describe("topicMatches", () => {
  it.each([
    ["example.*", "example.greeted", true],
    ["example.*", "example.a.b", false],
    ["example.*", "example", false],
    ["example.**", "example.a.b", true],
    ["example.**", "example", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.d", false],
    ["exact.topic", "exact.topic", true],
    ["exact.topic", "exact.topic.more", false],
  ])("%s vs %s -> %s", (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });
});

describe("hostAllowed", () => {
  const allowed = ["api.example.com", "*.cdn.example", "127.0.0.1:8080"];
  it.each([
    ["https://api.example.com/x", true],
    ["https://API.example.com/x", true],
    ["https://evil.api.example.com/", false],
    ["https://a.cdn.example/", true],
    ["https://a.b.cdn.example/", true],
    ["https://cdn.example/", false],
    ["http://127.0.0.1:8080/", true],
    ["http://127.0.0.1:8081/", false],
    ["https://api.example.com.evil.net/", false],
  ])("%s -> %s", (url, expected) => {
    expect(hostAllowed(new URL(url), allowed)).toBe(expected);
  });
});

describe("compareUtf8", () => {
  it("orders by code point (UTF-8 bytes), not UTF-16 units", () => {
    const keys = ["\u{1F389}", "\uFFFD", "b", "a", "ab", ""];
    const bytes = (s: string) => [...new TextEncoder().encode(s)];
    const byBytes = [...keys].sort((x, y) => {
      const a = bytes(x), b = bytes(y);
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i] !== b[i]) return a[i]! - b[i]!;
      }
      return a.length - b.length;
    });
    expect([...keys].sort(compareUtf8)).toEqual(byBytes);
    expect([...keys].sort()).not.toEqual(byBytes);
  });
});

describe("fileSecrets", () => {
  it("reads values, treats a missing file as empty, and never quotes a malformed file", () => {
    const dir = mkdtempSync(join(tmpdir(), "plughost-secrets-"));
    try {
      const file = join(dir, "secrets.json");
      const provider = fileSecrets(file);
      expect(provider.get("A")).toBeUndefined();
      writeFileSync(file, JSON.stringify({ A: "alpha" }));
      expect(provider.get("A")).toBe("alpha");
      expect(provider.get("toString")).toBeUndefined();
      writeFileSync(file, '{"A": "hunter2", "B": 1}');
      expect(() => provider.get("A")).toThrow(/must be a JSON object of string values/);
      try {
        provider.get("A");
      } catch (error) {
        expect(String(error)).not.toContain("hunter2");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The registry client's bounds against a real loopback server that misbehaves:
 * no answer, an answer whose body stalls, a body larger than a plugin file may
 * be (declared, or streamed without a length). Each is refused with a
 * `network_error` saying what went wrong, and the client stops reading.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostError } from "../../host/errors.ts";
import { REGISTRY_MAX_BYTES, RegistryClient } from "../../host/registry/client.ts";

const DIGEST = "a".repeat(64);

describe("registry client bounds (loopback server)", () => {
  let server: Server;
  let url: string;
  /** Bytes the server managed to write for the last streamed answer. */
  let streamed = 0;
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const mode = req.headers["x-mode"];
      if (mode === "stall") {
        held.push(res); // never answers
      } else if (mode === "stall-body") {
        res.writeHead(200, { "content-type": "application/wasm", "content-length": "100" });
        res.write(new Uint8Array(10));
        held.push(res); // the other 90 bytes never come
      } else if (mode === "declared") {
        res.writeHead(200, { "content-length": String(req.headers["x-length"]) });
        held.push(res);
        res.write(new Uint8Array(1024));
      } else if (mode === "stream") {
        res.writeHead(200, { "content-type": "application/wasm" });
        streamed = 0;
        const chunk = new Uint8Array(64 * 1024);
        const pump = () => {
          while (streamed < 50 * 1024 * 1024) {
            streamed += chunk.byteLength;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end();
        };
        res.on("close", () => res.removeAllListeners("drain"));
        pump();
      } else if (mode === "junk-versions") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ versions: "junk" }));
      } else if (mode === "null-manifest") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({
          versions: [{ version: "1.0.0", digest: "a".repeat(64), yanked: false, manifest: null }],
        }));
      } else if (mode === "small") {
        res.writeHead(200, { "content-type": "application/wasm" });
        res.end(new Uint8Array([0, 97, 115, 109]));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /** A client that sends `mode` to the server on every request. */
  const client = (
    mode: string,
    options: { timeoutMs?: number; maxBytes?: number } = {},
    length = 10 * 1024 * 1024,
  ) =>
    new RegistryClient(url, {
      ...options,
      fetch: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set("x-mode", mode);
        headers.set("x-length", String(length));
        return fetch(input, { ...init, headers });
      },
    });

  const refusal = async (promise: Promise<unknown>): Promise<HostError> => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(HostError);
    return error as HostError;
  };

  // A broken or hostile registry answered 500 host_error through install (a TypeError, a ZodError).
  for (const mode of ["junk-versions", "null-manifest"]) {
    it(`a versions page it cannot read (${mode}) is a network_error naming the registry`, async () => {
      const error = await refusal(client(mode).versions("example.hello"));
      expect(error.code).toBe("network_error");
      expect(error.message).toContain("versions page this host cannot read");
    });
  }

  it("by default a file over 64 MiB (the host's plugin upload limit) is refused", async () => {
    expect(REGISTRY_MAX_BYTES).toBe(64 * 1024 * 1024);
    const error = await refusal(client("declared", {}, REGISTRY_MAX_BYTES + 1).download(DIGEST));
    expect(error.message).toMatch(/sent more than 67108864 bytes/);
  });

  it("a registry that never answers: network_error after the deadline", async () => {
    const error = await refusal(client("stall", { timeoutMs: 300 }).download(DIGEST));
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/did not answer \/v1\/registry\/artifacts\/a+ within 0\.3 s/);
  });

  it("an answer whose body stalls: the deadline covers the body too", async () => {
    const error = await refusal(client("stall-body", { timeoutMs: 300 }).download(DIGEST));
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/did not answer .* within 0\.3 s/);
  });

  it("a declared length over the bound is refused before reading", async () => {
    const error = await refusal(client("declared", { maxBytes: 1024 * 1024 }).download(DIGEST));
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/sent more than 1048576 bytes/);
  });

  it("a streamed body over the bound is cut off as it arrives", async () => {
    const error = await refusal(client("stream", { maxBytes: 1024 * 1024 }).download(DIGEST));
    expect(error.code).toBe("network_error");
    expect(error.message).toMatch(/sent more than 1048576 bytes/);
    // The client stopped reading: the server could not push its 50 MiB through.
    expect(streamed).toBeLessThan(50 * 1024 * 1024);
  });

  it("a small answer within both bounds is returned whole", async () => {
    const body = await client("small", { timeoutMs: 5000, maxBytes: 4 }).download(DIGEST);
    expect([...body]).toEqual([0, 97, 115, 109]);
  });
});

/**
 * The http_request tape digest (host/capabilities/tape-http.ts): a replay that
 * sends another body or other forwarded headers to the same URL diverges; one
 * that differs only in what the host does not forward (framing, connection,
 * proxy-* headers), or in header case and order, replays; entries recorded
 * before the rule was numbered (digest of `METHOD URL`) still replay. No
 * network: the gate behind the tape is a stub that counts what reaches it.
 */
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { sha256Id } from "../../host/artifact/mod.ts";
import type { CapabilityContext } from "../../host/capabilities/context.ts";
import { RunRegistry } from "../../host/capabilities/runs.ts";
import { ReplayDiverged, Tape, tapedFetch, type TapeEntry } from "../../host/capabilities/tape.ts";

const URL_ = "http://api.example.test/submit";
const encode = (text: string) => new TextEncoder().encode(text);

/** A fetch for plugin `t.p` with one active best-effort run on `tape`; `sent` counts gate calls. */
function fetchWith(tape: Tape) {
  const runs = new RunRegistry();
  const run = runs.begin("run-1", "t.p");
  run.determinism = "best-effort";
  run.tape = tape;
  const ctx = { runs } as Partial<CapabilityContext> as CapabilityContext;
  const counter = { sent: 0, body: "" };
  const gate: typeof fetch = async (input) => {
    counter.sent++;
    // The gate still reads the body the tape hashed (host/capabilities/http.ts does).
    counter.body = input instanceof Request ? await input.text() : "";
    return new Response("live answer", { status: 201 });
  };
  return { fetch: tapedFetch(ctx, "t.p", gate), counter };
}

const post = (body: string, headers: Record<string, string> = { "x-api-key": "k" }) => ({
  method: "POST",
  headers,
  body: encode(body),
});

async function recorded(init: RequestInit): Promise<TapeEntry[]> {
  const tape = Tape.record();
  await (await fetchWith(tape).fetch(URL_, init)).text();
  return tape.entries;
}

async function replayed(entries: TapeEntry[], init: RequestInit): Promise<string> {
  const { fetch, counter } = fetchWith(Tape.replay(entries));
  const text = await (await fetch(URL_, init)).text();
  expect(counter.sent).toBe(0);
  return text;
}

describe("http_request tape digest", () => {
  it("records rule 2 and a digest, never the request body", async () => {
    const entries = await recorded(post('{"password":"hunter2"}'));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ fn: "http_request", inRule: 2, status: 201 });
    expect(entries[0]!.in).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(entries)).not.toContain("hunter2");
  });

  it("replays the same request from the tape", async () => {
    const entries = await recorded(post("one"));
    expect(await replayed(entries, post("one"))).toBe("live answer");
  });

  it("diverges when the body differs (same method and URL)", async () => {
    const entries = await recorded(post("one"));
    await expect(replayed(entries, post("two"))).rejects.toThrow(ReplayDiverged);
    await expect(replayed(entries, post("two"))).rejects.toThrow(
      /host call 1: the plugin called http_request with other input/,
    );
  });

  it("diverges when a forwarded header differs, is added or is missing", async () => {
    const entries = await recorded(post("one"));
    await expect(replayed(entries, post("one", { "x-api-key": "other" }))).rejects
      .toThrow(ReplayDiverged);
    await expect(replayed(entries, post("one", { "x-api-key": "k", "x-more": "1" }))).rejects
      .toThrow(ReplayDiverged);
    await expect(replayed(entries, post("one", {}))).rejects.toThrow(ReplayDiverged);
  });

  it("hashes a body handed as a Request as it hashes Extism's bytes, and still sends it", async () => {
    const tape = Tape.record();
    const { fetch, counter } = fetchWith(tape);
    await (await fetch(new Request(URL_, post("one")))).text();
    expect(counter.body).toBe("one");
    expect(await replayed(tape.entries, post("one"))).toBe("live answer");
  });

  it("tells no body from an empty one (the latter is sent with content-length: 0)", async () => {
    const entries = await recorded({ method: "POST", headers: { "x-api-key": "k" } });
    await expect(replayed(entries, post(""))).rejects.toThrow(ReplayDiverged);
    expect(await replayed(entries, { method: "POST", headers: { "x-api-key": "k" } })).toBe(
      "live answer",
    );
  });

  it("ignores header case and order, and the headers the host does not forward", async () => {
    const entries = await recorded(post("one", { "x-b": "2", "x-api-key": "k" }));
    const same = await replayed(
      entries,
      post("one", {
        "X-Api-Key": "k",
        "X-B": "2",
        connection: "close",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic eDp5",
        "content-length": "999",
      }),
    );
    expect(same).toBe("live answer");
  });

  it("replays an entry recorded before rule 2 (no inRule: METHOD URL) whatever the body", async () => {
    const old: TapeEntry = {
      fn: "http_request",
      in: sha256Id(`POST ${URL_}`),
      out: Buffer.from("old answer").toString("base64"),
      status: 200,
      headers: [["content-type", "text/plain"]],
    };
    expect(await replayed([old], post("anything"))).toBe("old answer");
    await expect(replayed([old], { method: "PUT", body: encode("x") })).rejects.toThrow(
      ReplayDiverged,
    );
  });

  it("refuses to guess at a rule this host does not know", async () => {
    const [entry] = await recorded(post("one"));
    await expect(replayed([{ ...entry!, inRule: 3 }], post("one"))).rejects.toThrow(
      /digest rule 3, which this host does not know/,
    );
  });
});

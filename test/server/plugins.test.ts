import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newKey, signedFirstParty } from "../helpers/signing.ts";
import { type Harness, harness, jsonBody } from "./harness.ts";

const upload = (wasm: Uint8Array): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/wasm" },
  body: wasm as Uint8Array<ArrayBuffer>,
});

describe("plugin routes", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => await h.close());

  it("lists and shows plugins with manifest, signers, state and capability schemas", async () => {
    const list = await (await h.call("/v1/plugins", { token: h.tokens.read })).json();
    expect(list.plugins).toEqual([expect.objectContaining({
      id: "example.hello",
      version: "1.0.0",
      state: "enabled",
      capabilities: ["greet"],
      signers: [{ keyId: h.key.keyId, label: "test" }],
    })]);
    const one = await (await h.call("/v1/plugins/example.hello", { token: h.tokens.read })).json();
    expect(one.manifest.id).toBe("example.hello");
    expect(one.capabilities[0]).toMatchObject({ name: "greet", export: "greet" });
    expect(one.capabilities[0].input.required).toEqual(["name"]);
    expect((await h.call("/v1/plugins/nope", { token: h.tokens.read })).status).toBe(404);
  });

  it("installs an uploaded plugin, upgrades only to a higher version unless forced", async () => {
    const v2 = await signedFirstParty("hello", h.key, (m) => (m.version = "1.1.0"));
    const created = await h.call("/v1/plugins", { ...upload(v2), token: h.tokens.admin });
    expect(created.status).toBe(201);
    const body = await created.json();
    expect(body).toMatchObject({ id: "example.hello", version: "1.1.0", source: "upload" });
    expect((await h.store.plugins.get("example.hello"))?.version).toBe("1.1.0");
    const again = await h.call("/v1/plugins", { ...upload(v2), token: h.tokens.admin });
    expect(again.status).toBe(409);
    expect((await again.json()).detail).toContain("not higher");
    const forced = await h.call("/v1/plugins?force=true", { ...upload(v2), token: h.tokens.admin });
    expect(forced.status).toBe(201);
    const call = await h.call("/v1/plugins/example.hello/capabilities/greet", {
      ...jsonBody({ name: "v2" }),
      token: h.tokens.invoke,
    });
    expect(await call.json()).toEqual({ message: "Hello, v2!" });
  });

  it("refuses a tampered upload, an untrusted signer and a non-wasm content type", async () => {
    const good = await signedFirstParty("hello", h.key, (m) => (m.version = "2.0.0"));
    const tampered = good.slice();
    // Flip one byte of the code (well before the trailing custom sections).
    const at = Math.floor(tampered.length / 3);
    tampered[at] = tampered[at]! ^ 0xff;
    const res = await h.call("/v1/plugins", { ...upload(tampered), token: h.tokens.admin });
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.type).toBe("https://plughost.dev/problems/verification_failed");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(h.runtime.get("example.hello")?.version).toBe("1.0.0");

    const stranger = await signedFirstParty("hello", await newKey("stranger"), (m) => {
      m.version = "3.0.0";
    });
    const untrusted = await h.call("/v1/plugins", { ...upload(stranger), token: h.tokens.admin });
    expect(untrusted.status).toBe(422);
    expect(await h.store.plugins.get("example.hello")).toBeUndefined();

    const text = await h.call("/v1/plugins", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hi",
      token: h.tokens.admin,
    });
    expect(text.status).toBe(415);
  });

  it("disables, enables and uninstalls", async () => {
    const v2 = await signedFirstParty("hello", h.key, (m) => (m.version = "1.2.0"));
    await h.call("/v1/plugins", { ...upload(v2), token: h.tokens.admin });
    const disabled = await h.call("/v1/plugins/example.hello/disable", {
      method: "POST",
      token: h.tokens.admin,
    });
    expect((await disabled.json()).state).toBe("disabled");
    expect((await h.store.plugins.get("example.hello"))?.state).toBe("disabled");
    const enabled = await h.call("/v1/plugins/example.hello/enable", {
      method: "POST",
      token: h.tokens.admin,
    });
    expect((await enabled.json()).state).toBe("enabled");
    const removed = await h.call("/v1/plugins/example.hello", {
      method: "DELETE",
      token: h.tokens.admin,
    });
    expect(removed.status).toBe(204);
    expect(h.runtime.get("example.hello")).toBeUndefined();
    expect(
      (await h.call("/v1/plugins/example.hello", {
        method: "DELETE",
        token: h.tokens.admin,
      })).status,
    ).toBe(404);
  });

  it("an upload and a delete over HTTP rewrite the lockfile, as host install and uninstall do", async () => {
    const lock = async () =>
      JSON.parse(await readFile(h.host.lockfile, "utf8")) as {
        plugins: Record<string, { version: string }>;
      };
    const v2 = await signedFirstParty("hello", h.key, (m) => (m.version = "1.2.0"));
    const created = await h.call("/v1/plugins", { ...upload(v2), token: h.tokens.admin });
    expect(created.status).toBe(201);
    expect((await lock()).plugins["example.hello"]).toMatchObject({ version: "1.2.0" });
    const removed = await h.call("/v1/plugins/example.hello", {
      method: "DELETE",
      token: h.tokens.admin,
    });
    expect(removed.status).toBe(204);
    expect((await lock()).plugins["example.hello"]).toBeUndefined();
  });
});

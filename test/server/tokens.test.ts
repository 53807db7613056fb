import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostError } from "../../host/errors.ts";
import { hashToken, type Store, TokensRepository } from "../../host/store/mod.ts";
import { tempStore } from "../helpers/store.ts";

describe("api tokens repository", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => await cleanup());

  it("creates a token shown once, stores only its hash, verifies it and revokes it", async () => {
    const tokens = new TokensRepository(store.db);
    const { token, record } = await tokens.create({ name: "ci", scopes: ["read", "invoke:a.b"] });
    expect(token).toMatch(/^plh_[A-Za-z0-9_-]{43}$/);
    expect(record.scopes).toEqual(["read", "invoke:a.b"]);
    const stored = await store.client.execute("SELECT token_hash FROM api_tokens");
    expect(String(stored.rows[0]?.[0])).toBe(hashToken(token));
    expect(JSON.stringify(stored.rows)).not.toContain(token);
    expect((await tokens.verify(token))?.id).toBe(record.id);
    expect(await tokens.verify(token + "x")).toBeUndefined();
    expect(await tokens.revoke(record.id)).toBe(true);
    expect(await tokens.revoke(record.id)).toBe(false);
    expect(await tokens.verify(token)).toBeUndefined();
    expect((await tokens.list())[0]?.revokedAt).not.toBeNull();
  });

  it("refuses expired tokens and malformed scopes", async () => {
    const tokens = new TokensRepository(store.db);
    const { token } = await tokens.create({ name: "t", scopes: ["admin"], expiresAt: 1000 });
    expect(await tokens.verify(token, 999)).toBeDefined();
    expect(await tokens.verify(token, 1000)).toBeUndefined();
    await expect(tokens.create({ name: "t", scopes: ["root"] })).rejects.toBeInstanceOf(HostError);
    await expect(tokens.create({ name: "t", scopes: [] })).rejects.toThrow(/at least one scope/);
  });
});

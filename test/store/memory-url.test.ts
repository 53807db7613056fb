import { describe, expect, it } from "vitest";
import { openStore } from "../../host/store/mod.ts";

describe("database URLs", () => {
  it("refuses an in-memory database with a message that says to use a file", async () => {
    for (const url of [":memory:", "file::memory:"]) {
      await expect(openStore({ url })).rejects.toThrow(
        /In-memory databases .* are not supported: use a file/,
      );
    }
  });
});

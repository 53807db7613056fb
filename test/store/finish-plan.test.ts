import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../host/store/mod.ts";
import { FINISH_SQL } from "../../host/store/ops.ts";
import { tempDb } from "./helpers.ts";

let db: ReturnType<typeof tempDb>;
let store: Store;
beforeEach(async () => {
  db = tempDb();
  store = await openStore({ url: db.url });
});
afterEach(async () => {
  await store.close();
  db.cleanup();
});

describe("finishing runs in a batch", () => {
  it("looks each finished run up by its id, never scanning the running runs", async () => {
    // A batch of finishes used to walk the status index once per finish: quadratic in the
    // batch, 167 ms for 200 finishes. The plan must drive from the JSON and probe the key.
    const plan = await store.client.execute({
      sql: `EXPLAIN QUERY PLAN ${FINISH_SQL}`,
      args: ["[]"],
    });
    const steps = plan.rows.map((row) => String(row.detail));
    expect(steps.some((s) => /SEARCH run_records USING .*\(id=\?\)/.test(s))).toBe(true);
    expect(steps.some((s) => s.includes("status"))).toBe(false);
    expect(steps.some((s) => /SCAN run_records/.test(s))).toBe(false);
  });
});

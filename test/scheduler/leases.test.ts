import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LeasesRepository } from "../../host/store/mod.ts";
import { tempStore } from "../helpers/store.ts";

describe("leases", () => {
  let t: Awaited<ReturnType<typeof tempStore>>;
  let leases: LeasesRepository;
  beforeEach(async () => {
    t = await tempStore();
    leases = new LeasesRepository(t.store.client);
  });
  afterEach(async () => await t.cleanup());

  const empty = { claims: [], skips: [], finishes: [] };
  const now = 1_800_000_000_000;

  it("gives each occurrence to one holder, skips while another occurrence is held, frees it when done", async () => {
    const a = { scheduleId: "s1", occurrence: now, runId: "RA" };
    const first = await leases.apply(
      { ...empty, claims: [a, { ...a, scheduleId: "s2" }] },
      "A",
      now,
      10_000,
    );
    expect(first.claims).toEqual([
      { kind: "claimed", attempts: 1, previousHolder: null },
      { kind: "claimed", attempts: 1, previousHolder: null },
    ]);
    const second = await leases.apply(
      { ...empty, claims: [{ ...a, runId: "RB" }] },
      "B",
      now,
      10_000,
    );
    expect(second.claims).toEqual([{ kind: "taken" }]);

    const next = { scheduleId: "s1", occurrence: now + 1000, runId: "RB2" };
    const busy = await leases.apply({ ...empty, claims: [next] }, "B", now + 1000, 10_000);
    expect(busy.claims).toEqual([{ kind: "skipped", runningOccurrence: now, runId: "RA" }]);
    // A skip already recorded is not recorded twice.
    const again = await leases.apply({ ...empty, skips: [next] }, "A", now + 1000, 10_000);
    expect(again.skips).toEqual([false]);

    await leases.apply({ ...empty, finishes: [{ ...a, runId: "RA" }] }, "A", now + 1500, 10_000);
    const after = { scheduleId: "s1", occurrence: now + 2000, runId: "RC" };
    const free = await leases.apply({ ...empty, claims: [after] }, "C", now + 2000, 10_000);
    expect(free.claims).toEqual([{ kind: "claimed", attempts: 1, previousHolder: null }]);
    expect((await leases.list("s1")).map((l) => [l.state, l.holder, l.runId])).toEqual([
      ["held", "C", "RC"],
      ["skipped", "B", null],
      ["done", "A", "RA"],
    ]);
  });

  it("lets another holder take over a held lease only after it expires", async () => {
    const key = { scheduleId: "s1", occurrence: now, runId: "R1" };
    await leases.claim([key], "A", now, 5000);
    expect(await leases.claim([{ ...key, runId: "R2" }], "B", now + 4000, 5000)).toEqual([
      { kind: "taken" },
    ]);
    expect((await leases.expired(now + 6000)).map((l) => l.holder)).toEqual(["A"]);
    expect(await leases.claim([{ ...key, runId: "R2" }], "B", now + 6000, 5000)).toEqual([
      { kind: "claimed", attempts: 2, previousHolder: "A" },
    ]);
    // A's late finish no longer counts: B holds it.
    expect(await leases.finish(key, "A", "R1", now + 7000)).toBe(false);
  });

  it("records missed occurrences once, whoever asks first", async () => {
    const key = { scheduleId: "s1", occurrence: now };
    expect(await leases.recordMissed(key, now - 60_000, "A", "missed", null, now, 0)).toBe(true);
    const later = { scheduleId: "s1", occurrence: now + 1000 };
    expect(await leases.recordMissed(later, now - 60_000, "B", "held", "R", now, 5000)).toBe(false);
    expect(await leases.latest()).toEqual(new Map([["s1", now]]));
  });
});

/** Host policy caps what a manifest or a caller asks for. */
import { describe, expect, it } from "vitest";
import { applyPolicy, defaultLimits, defaultPolicy } from "../../host/sandbox/mod.ts";

describe("applyPolicy", () => {
  it("fills defaults", () => {
    expect(applyPolicy(undefined)).toEqual(defaultLimits);
  });

  it("lowers requests above the policy and keeps those below", () => {
    const policy = { ...defaultPolicy, memoryPages: 256, fuel: 5_000n };
    const limits = applyPolicy(
      { memoryPages: 65_536, fuel: 1_000n, timeoutMs: 50 },
      policy,
    );
    expect(limits.memoryPages).toBe(256);
    expect(limits.fuel).toBe(1_000n);
    expect(limits.timeoutMs).toBe(50);
  });

  it("rejects nonsense with a message naming the field", () => {
    expect(() => applyPolicy({ memoryPages: -1 })).toThrow(/memoryPages/);
    expect(() => applyPolicy({ fuel: 0n })).toThrow(/fuel/);
  });
});

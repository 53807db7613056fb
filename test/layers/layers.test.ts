// The layer check of `npm test` (scripts/check-layers.mjs with .dependency-cruiser.cjs) run on
// fixture trees: one breaking every rule on purpose, one that keeps them.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const script = join(import.meta.dirname, "..", "..", "scripts", "check-layers.mjs");
const fixtures = join(import.meta.dirname, "fixtures");

function check(tree: string): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [script, "--root", join(fixtures, tree)], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe("layer check", () => {
  it("fails on a cycle and on every other broken rule, naming each", () => {
    const { status, out } = check("bad");
    expect(status).toBe(1);
    expect(out).toMatch(/no-cycles: host\/store\/a\.ts/);
    expect(out).toMatch(
      /core-not-cli-or-server: host\/runtime\/core\.ts → host\/server\/route\.ts/,
    );
    expect(out).toMatch(/sdk-and-plugins-not-host: sdk\/lib\.ts → host\/store\/a\.ts/);
    expect(out).toMatch(/runtime-specific-in-adapter: host\/runtime\/core\.ts → (node:)?http/);
    expect(out).toMatch(/database-only-in-store: host\/runtime\/core\.ts → .*@libsql\/client/);
    expect(out).toMatch(/sql-outside-store: host\/runtime\/core\.ts:8/);
    expect(out).toMatch(
      /binaryen-loaded-lazily: host\/sandbox\/load\.ts → host\/sandbox\/instrument\/meter\.ts/,
    );
    expect(out).toMatch(
      /binaryen-free-modules-stay-free: host\/sandbox\/instrument\/costs\.ts → host\/sandbox\/instrument\/meter\.ts/,
    );
  });

  it("passes a tree that keeps the rules", () => {
    const { status, out } = check("good");
    expect(out).toMatch(/no dependency violations found/);
    expect(out).toMatch(/no SQL outside host\/store\//);
    expect(status).toBe(0);
  });
});

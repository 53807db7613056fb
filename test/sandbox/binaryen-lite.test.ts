/**
 * The instrumenter's binaryen without its embedded module
 * (scripts/binaryen-lite.mjs, host/sandbox/instrument/binaryen.ts): the copy
 * beside the package is made from the installed index.js, carries exactly the
 * module index.js embeds, is what the host loads, and instruments to the same
 * bytes as the package itself.
 * @module
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, expect, it } from "vitest";
import { binaryenSource, liteCopyIn } from "../../host/sandbox/instrument/binaryen.ts";
import { builtPlugin, repoRoot } from "../helpers/cli.ts";

// @ts-expect-error: a plain .mjs script without type declarations
const lite = await import("../../scripts/binaryen-lite.mjs");
const {
  binaryenDir,
  denseTableMirror,
  liteIsCurrent,
  LITE_FILES,
  splitBinaryen,
  writeBinaryenLite,
} = lite as {
  binaryenDir: () => string;
  denseTableMirror: (text: string) => { text: string; patched: boolean };
  liteIsCurrent: (dir?: string) => boolean;
  LITE_FILES: { module: string; wasm: string; stamp: string };
  splitBinaryen: (text: string) => { module: string; wasm: Uint8Array; tableMirror: boolean };
  writeBinaryenLite: (dir: string) => unknown;
};

describe("binaryen without its embedded module", () => {
  it("is made from the installed package and carries the very module index.js embeds", () => {
    expect(liteIsCurrent()).toBe(true);
    const dir = binaryenDir();
    const { module, wasm } = splitBinaryen(readFileSync(join(dir, "index.js"), "utf8"));
    expect(Buffer.from(wasm).equals(readFileSync(join(dir, LITE_FILES.wasm)))).toBe(true);
    expect(readFileSync(join(dir, LITE_FILES.module), "utf8")).toBe(module);
    expect(WebAssembly.validate(wasm as BufferSource)).toBe(true);
  });

  it("keeps its function-table mirror a dense array, and finds the same functions", () => {
    const { tableMirror } = splitBinaryen(readFileSync(join(binaryenDir(), "index.js"), "utf8"));
    expect(tableMirror).toBe(true);
    // The glue's shape, with its minified names: a mirror, its lookup, the table.
    const glue = "var M=[],g=i=>{var f=M[i];return f||(M[i]=f=T.get(i)),f};";
    const { text, patched } = denseTableMirror(glue);
    expect(patched).toBe(true);
    const gets: number[] = [];
    const table = {
      length: 4,
      get: (i: number) => {
        gets.push(i);
        return () => i * 10;
      },
    };
    const run = new Function("T", `${text} return { g, mirror: () => M };`) as (
      t: typeof table,
    ) => { g: (i: number) => () => number; mirror: () => unknown[] };
    const { g, mirror } = run(table);
    expect([g(2)(), g(2)(), g(0)(), g(9)()]).toEqual([20, 20, 0, 90]);
    expect(gets).toEqual([2, 0, 9]); // each looked up in the table once
    // As long as the table (or the index past it) from the first lookup on: no holes to hash.
    expect(mirror()).toHaveLength(10);
    expect(Object.keys(mirror())).toHaveLength(10);
    expect(denseTableMirror("var M=[];")).toEqual({ text: "var M=[];", patched: false });
  });

  it("is what the instrumenter loads", () => {
    expect(binaryenSource).toBe("lite");
  });

  it("instruments to the same bytes as the package (main and worker forms)", () => {
    const run = (env: Record<string, string>) => {
      const child = spawnSync(
        process.execPath,
        [
          join(repoRoot, "scripts", "run-ts.mjs"),
          join(repoRoot, "test", "sandbox", "_instrument-digest.ts"),
          builtPlugin("hello"),
        ],
        { cwd: repoRoot, encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 },
      );
      expect(child.status, child.stderr).toBe(0);
      return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, string>;
    };
    const copy = run({});
    const pkg = run({ PLUGHOST_BINARYEN: "package" });
    expect([copy.source, pkg.source]).toEqual(["lite", "package"]);
    expect(copy.main).toBe(pkg.main);
    expect(copy.worker).toBe(pkg.worker);
  }, 120_000);

  it("a copy cut short or made from another index.js is not used, and is made again", () => {
    // A package folder of its own: the installed one is shared with every other test.
    const dir = mkdtempSync(join(tmpdir(), "plughost-binaryen-"));
    try {
      for (const file of ["package.json", "index.js"]) {
        copyFileSync(join(binaryenDir(), file), join(dir, file));
      }
      expect(liteIsCurrent(dir)).toBe(false);
      expect(liteCopyIn(dir)).toBeNull();
      writeBinaryenLite(dir);
      expect(liteIsCurrent(dir)).toBe(true);
      expect(liteCopyIn(dir)?.href).toMatch(/plughost-lite\.mjs$/);
      for (const file of [LITE_FILES.wasm, LITE_FILES.module, "index.js"]) {
        const path = join(dir, file);
        const whole = readFileSync(path);
        truncateSync(path, whole.length - 1);
        expect(liteIsCurrent(dir), file).toBe(false);
        expect(liteCopyIn(dir), file).toBeNull();
        // index.js back from the package; a damaged copy is made again.
        if (file === "index.js") copyFileSync(join(binaryenDir(), file), path);
        else writeBinaryenLite(dir);
        expect(liteIsCurrent(dir), file).toBe(true);
      }
      rmSync(join(dir, LITE_FILES.stamp));
      expect(liteCopyIn(dir)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an index.js of another shape, saying what it expected", () => {
    expect(() => splitBinaryen("export default 1;")).toThrow(/exactly one template literal/);
    const twice = "f(`\\0asm`);g(`\\0asm`);";
    expect(() => splitBinaryen(twice)).toThrow(/exactly one/);
    expect(() => splitBinaryen("f(`\\0asm${x}`);")).toThrow(/substitutions/);
    expect(() => splitBinaryen("function f(r){return r}f(`\\0asm`);")).toThrow(
      /does not map char codes to bytes/,
    );
  });
});

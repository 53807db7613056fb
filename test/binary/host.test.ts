/**
 * Smoke tests of dist/host, the single executable: built (or reused when its
 * inputs are unchanged) once, copied alone into an empty directory, and run
 * there with a private TMPDIR. Each CLI command gets one block here.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "../../host/version.ts";
import { conformanceDir } from "../helpers/cli.ts";
import {
  buildExecutable,
  type BuildResult,
  isolate,
  run,
  type Sandbox,
  start,
} from "./executable.ts";

let built: BuildResult;
let box: Sandbox;

/** Raw conformance plugins have no manifest: `host call` runs them only in dev mode. */
let unsigned: string[] = [];

beforeAll(async () => {
  built = buildExecutable();
  box = isolate(built.path);
  const help = await run(box, ["call", "--help"]);
  if (help.stdout.includes("--allow-unsigned")) unsigned = ["--allow-unsigned"];
}, 300_000);

afterAll(() => {
  if (box) rmSync(box.dir, { recursive: true, force: true });
});

describe("dist/host", () => {
  it("is written with a sha256 file that matches it", () => {
    const line = readFileSync(`${built.path}.sha256`, "utf8");
    const digest = createHash("sha256").update(readFileSync(built.path)).digest("hex");
    expect(line).toBe(`${digest}  host\n`);
    expect(built.sha256).toBe(digest);
  });

  it("--version prints the version, alone in an empty directory", async () => {
    const result = await run(box, ["--version"]);
    expect(result).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  it("extracts its files once, privately, named by digest, and leaves nothing else", async () => {
    expect((await run(box, ["--version"])).code).toBe(0);
    const uid = process.getuid?.() ?? "user";
    expect(readdirSync(box.tmp)).toEqual([`plughost-${uid}`]);
    const root = join(box.tmp, `plughost-${uid}`);
    const dirs = readdirSync(root);
    expect(dirs).toHaveLength(1);
    expect(dirs[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    const files = readdirSync(join(root, dirs[0]!));
    expect(files).toEqual(expect.arrayContaining([".complete", "app.mjs", "node_modules"]));
    // native/ appears once a command needs a native addon (libSQL).
    expect(files.filter((f) => ![".complete", "app.mjs", "node_modules", "native"].includes(f)))
      .toEqual([]);
    expect(readdirSync(box.dir).sort()).toEqual(["host", "tmp"]);
  });

  it("calls a Rust plugin (code.wasm)", async () => {
    const wasm = join(conformanceDir, "code.wasm");
    const result = await run(box, [
      "call",
      wasm,
      "count_vowels",
      "--input",
      "hello world",
      ...unsigned,
    ]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ count: 3, total: 3, vowels: "aeiouAEIOU" });
    expect(result.code).toBe(0);
  });

  it("calls a WASI plugin (hello_haskell.wasm)", async () => {
    const wasm = join(conformanceDir, "hello_haskell.wasm");
    const result = await run(box, [
      "call",
      wasm,
      "testing",
      "--input",
      "John",
      "--wasi",
      ...unsigned,
    ]);
    expect(result).toEqual({ code: 0, stdout: "Hello, John\n", stderr: "" });
  });

  it("reports a plugin's failure with its message and exit code 1", async () => {
    const result = await run(box, [
      "call",
      join(conformanceDir, "fail.wasm"),
      "run_test",
      ...unsigned,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Some error message");
  });

  it("migrates and reads a libSQL database through the carried native addon", async () => {
    // An empty file is an empty SQLite database: `host runs` opens it and migrates it.
    const data = join(box.dir, "data");
    mkdirSync(data);
    writeFileSync(join(data, "host.db"), "");
    const result = await run(box, ["runs", "--json", "--db", join(data, "host.db")]);
    expect(result).toEqual({ code: 0, stdout: "[]\n", stderr: "" });
    const written = readdirSync(data).reduce((sum, f) => sum + statSync(join(data, f)).size, 0);
    expect(written).toBeGreaterThan(0);
  });

  it("serves HTTP on loopback with its own database, and stops on SIGTERM", async () => {
    const server = await start(box, ["serve", "--port", "0", "--home", join(box.dir, "home")]);
    try {
      expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: "ok" });
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready" });
    } finally {
      const stopped = await server.stop();
      expect(stopped.code).toBe(0);
    }
    expect(readdirSync(join(box.dir, "home"))).toContain("host.db");
  });

  // Next: sign and serve a plugin, call a capability over HTTP, `host verify` it,
  // and check its run is recorded (issue 9's CI smoke test).
});

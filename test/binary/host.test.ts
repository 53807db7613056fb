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
import { z } from "zod";
import { repoRoot } from "../helpers/cli.ts";
import { conformanceDir, conformanceTitle, hasConformance } from "../helpers/conformance.ts";
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
    expect(files).toEqual(expect.arrayContaining([".complete", "app.mjs", "app", "node_modules"]));
    // The app (app.mjs loads app/app.mjs and its chunks; app/native/ holds the libSQL addon).
    expect(files.filter((f) => ![".complete", "app.mjs", "app", "node_modules"].includes(f)))
      .toEqual([]);
    expect(readdirSync(box.dir).sort()).toEqual(["host", "tmp"]);
  });

  // These three call Extism conformance plugins; without them (a clone elsewhere) they skip, named.
  const withPlugins = it.skipIf(!hasConformance);

  withPlugins(conformanceTitle("calls a Rust plugin (code.wasm)"), async () => {
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

  withPlugins(conformanceTitle("calls a WASI plugin (hello_haskell.wasm)"), async () => {
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

  withPlugins(
    conformanceTitle("reports a plugin's failure with its message and exit code 1"),
    async () => {
      const result = await run(box, [
        "call",
        join(conformanceDir, "fail.wasm"),
        "run_test",
        ...unsigned,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("Some error message");
    },
  );

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

  it("smoke: signs, installs and serves a plugin, answers a call over HTTP, records the run", async () => {
    // Everything below goes through the binary alone: a fresh key and trust store, a
    // first-party plugin signed with it, an API token, the server, verify and runs.
    const home = join(box.dir, "smoke");
    const key = join(home, "keys", "operator");
    const keygen = await run(box, [
      "keygen",
      "--out",
      key,
      "--trust",
      join(home, "trust"),
      "--json",
    ]);
    expect(keygen.code).toBe(0);
    const keyId = z.object({ keyId: z.string() }).parse(JSON.parse(keygen.stdout)).keyId;
    const plugin = join(box.dir, "hello.wasm");
    const signed = await run(box, [
      "sign",
      join(repoRoot, "build", "plugins", "hello.raw.wasm"),
      "--manifest",
      join(repoRoot, "plugins", "hello", "plugin.json"),
      "--key",
      `${key}.key`,
      "--out",
      plugin,
    ]);
    expect(signed.code).toBe(0);
    const created = await run(box, [
      "tokens",
      "create",
      "--scope",
      "admin",
      "--home",
      home,
      "--json",
    ]);
    expect(created.code).toBe(0);
    const token = z.object({ token: z.string() }).parse(JSON.parse(created.stdout)).token;
    const auth = { authorization: `Bearer ${token}` };

    const server = await start(box, ["serve", "--port", "0", "--home", home]);
    let runId: string | null = null;
    try {
      const upload = await fetch(`${server.url}/v1/plugins`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/wasm" },
        body: readFileSync(plugin),
      });
      expect(upload.status).toBe(201);
      const call = await fetch(`${server.url}/v1/plugins/example.hello/capabilities/greet`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ name: "edge" }),
      });
      expect(await call.json()).toEqual({ message: "Hello, edge!" });
      expect(call.status).toBe(200);
      runId = call.headers.get("x-run-id");
      expect(runId).toMatch(/^[0-9A-Z]{26}$/);
      const unauthorized = await fetch(
        `${server.url}/v1/plugins/example.hello/capabilities/greet`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        },
      );
      expect(unauthorized.status).toBe(401);
    } finally {
      const stopped = await server.stop();
      expect(stopped.stderr).not.toContain("Error");
      expect(stopped.code).toBe(0);
    }

    const verified = await run(box, ["verify", plugin, "--trust", join(home, "trust"), "--json"]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      ok: true,
      files: [{ ok: true, pluginId: "example.hello", signatures: [{ keyId, status: "trusted" }] }],
    });
    // The upload was installed by digest in the data directory.
    expect(readdirSync(join(home, "plugins")).length).toBeGreaterThan(0);

    const runs = await run(box, ["runs", "--json", "--db", join(home, "host.db")]);
    expect(runs.code).toBe(0);
    expect(JSON.parse(runs.stdout)).toEqual([
      expect.objectContaining({
        id: runId,
        pluginId: "example.hello",
        capability: "greet",
        trigger: "http",
        status: "ok",
      }),
    ]);
  });
});

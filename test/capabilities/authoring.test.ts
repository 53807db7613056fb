/**
 * docs/plugin-authoring.md: its AssemblyScript and C examples, taken from
 * the page itself, build with the page's commands, are signed with the real
 * CLI, and run through openHost with the capability provider.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolvePaths } from "../../host/config/paths.ts";
import { openHost } from "../../host/core/mod.ts";
import { repoRoot, runCli } from "../helpers/cli.ts";
import { json, outputOf } from "./harness.ts";

const page = readFileSync(join(repoRoot, "docs", "plugin-authoring.md"), "utf8");

/** The fenced block right after `<!-- marker -->` in `section`. */
function blockAfter(section: string, marker: string): string {
  const at = section.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`docs/plugin-authoring.md has no <!-- ${marker} --> here`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(section.slice(at));
  if (!m) throw new Error(`no code block after <!-- ${marker} -->`);
  return m[1]!;
}

/** The page's section under `## title`. */
function section(title: string): string {
  const start = page.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/plugin-authoring.md has no "## ${title}"`);
  const end = page.indexOf("\n## ", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

/** Writes every `<!-- file: NAME -->` block of `text` into `dir`. */
function writeFiles(text: string, dir: string): void {
  for (const m of text.matchAll(/<!-- file: (\S+) -->/g)) {
    const path = join(dir, m[1]!);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, blockAfter(text.slice(m.index), `file: ${m[1]}`));
  }
}

/** Runs the `PLUGHOST/bin/host.mjs ...` lines of a block with the real CLI in `dir`. */
async function runHostLines(block: string, dir: string): Promise<void> {
  for (const line of block.split("\n").filter((l) => l.startsWith("PLUGHOST/bin/host.mjs "))) {
    const args = line.split(/\s+/).slice(1);
    const result = await runCli(args, { cwd: dir });
    expect(result.code, `${line}\n${result.stderr}`).toBe(0);
  }
}

/**
 * Runs the `PLUGHOST/bin/host.mjs call` lines of a block with the real CLI in
 * `dir`; each prints what the `# ...` line after it says.
 */
async function runCallLines(block: string, dir: string): Promise<void> {
  const lines = block.split("\n");
  let calls = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith("PLUGHOST/bin/host.mjs call ")) continue;
    // Arguments are separated by spaces; a '...' argument is one shell word without spaces inside.
    const args = [...line.slice("PLUGHOST/bin/host.mjs ".length).matchAll(/'([^']*)'|(\S+)/g)]
      .map((m) => m[1] ?? m[2]!);
    const expected = lines[i + 1]?.startsWith("# ") ? lines[i + 1]!.slice(2) : undefined;
    const result = await runCli(args, { cwd: dir });
    expect(result.code, `${line}\n${result.stderr}`).toBe(0);
    expect(result.stdout.trim()).toBe(expected);
    calls++;
  }
  expect(calls).toBeGreaterThan(0);
}

async function callTwice(dir: string, file: string, capability: string, input: unknown) {
  const host = await openHost({ paths: resolvePaths({}, dir, { db: join(dir, "doc.db") }) });
  try {
    const info = await host.runtime.load(new Uint8Array(readFileSync(join(dir, file))), file);
    const call = () =>
      host.runtime.invoke({
        pluginId: info.id,
        capability,
        input: input === undefined ? new Uint8Array() : json(input),
        trigger: "cli",
        durable: true,
      });
    const outputs = [outputOf(await call()), outputOf(await call())];
    await host.store.flush();
    const events = (await host.store.events.query({ pluginId: info.id, limit: 1000 })).events;
    return { outputs, types: events.map((e) => e.type) };
  } finally {
    await host.close();
  }
}

const hasClang = spawnSync("clang", ["--version"], { stdio: "ignore" }).status === 0 &&
  spawnSync("wasm-ld", ["--version"], { stdio: "ignore" }).status === 0;

describe("docs/plugin-authoring.md", () => {
  it("the AssemblyScript example builds, signs, verifies and counts 1 then 2", async () => {
    const text = section("AssemblyScript");
    const dir = mkdtempSync(join(tmpdir(), "plughost-doc-as-"));
    try {
      // What `npm install ... PLUGHOST/sdk/as` makes, without the network.
      mkdirSync(join(dir, "node_modules", "@plughost"), { recursive: true });
      mkdirSync(join(dir, "node_modules", "@extism"), { recursive: true });
      symlinkSync(join(repoRoot, "sdk", "as"), join(dir, "node_modules", "@plughost", "sdk-as"));
      symlinkSync(
        join(repoRoot, "node_modules", "@extism", "as-pdk"),
        join(dir, "node_modules", "@extism", "as-pdk"),
      );
      writeFiles(text, dir);
      const build = blockAfter(text, "build: as").trim().split(/\s+/);
      expect(build.slice(0, 2)).toEqual(["npx", "asc"]);
      execFileSync(join(repoRoot, "node_modules", ".bin", "asc"), build.slice(2), {
        cwd: dir,
        stdio: "pipe",
      });
      await runHostLines(blockAfter(text, "sign: as"), dir);
      await runCallLines(blockAfter(text, "call: as"), dir);
      const { outputs, types } = await callTwice(dir, "visits.wasm", "visit", { name: "Zoë" });
      expect(outputs).toEqual([{ name: "Zoë", visits: 1 }, { name: "Zoë", visits: 2 }]);
      expect(types.filter((t) => t === "plugin.example.visits.visits.counted")).toHaveLength(2);
      expect(types).toContain("plugin.log");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it.skipIf(!hasClang)(
    `the C example builds with clang, signs, verifies and counts 1 then 2${
      hasClang ? "" : " (SKIPPED: clang and wasm-ld not found)"
    }`,
    async () => {
      const text = section("C");
      const dir = mkdtempSync(join(tmpdir(), "plughost-doc-c-"));
      try {
        copyFileSync(join(repoRoot, "sdk", "c", "plughost.h"), join(dir, "plughost.h"));
        writeFiles(text, dir);
        const build = blockAfter(text, "build: c").trim().split(/\s+/);
        expect(build[0]).toBe("clang");
        execFileSync("clang", build.slice(1), { cwd: dir, stdio: "pipe" });
        await runHostLines(blockAfter(text, "sign: c"), dir);
        await runCallLines(blockAfter(text, "call: c"), dir);
        const { outputs, types } = await callTwice(dir, "pings.wasm", "ping", undefined);
        expect(outputs).toEqual([{ pings: 1 }, { pings: 2 }]);
        expect(types.filter((t) => t === "plugin.example.pings.pings.ping")).toHaveLength(2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

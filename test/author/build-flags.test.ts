// build.json `flags` reach the compiler: the authoring guide's advice for calls with large inputs
// (`--initialMemory 4`, docs/plugin-authoring.md) gives a module that starts with 4 pages.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scanModule } from "../../host/sandbox/instrument/scan.ts";
import { runCli } from "../helpers/cli.ts";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "plughost-flags-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it(
  "build.json flags are passed to the compiler: --initialMemory 4 starts the memory at 4 pages",
  async () => {
    const created = await runCli(["new", "roomy", "--lang", "as"], { cwd: work });
    expect(created.code, created.stderr).toBe(0);
    const dir = join(work, "roomy");
    const settingsFile = join(dir, "build.json");
    const settings = JSON.parse(await readFile(settingsFile, "utf8")) as Record<string, unknown>;
    expect(settings["flags"]).toEqual([]);
    await writeFile(settingsFile, JSON.stringify({ ...settings, flags: ["--initialMemory", "4"] }));

    const built = await runCli(["build"], { cwd: dir, timeoutMs: 120_000 });
    expect(built.code, built.stderr + built.stdout).toBe(0);
    const raw = new Uint8Array(await readFile(join(dir, "build", "roomy.raw.wasm")));
    expect(scanModule(raw).memories.map((m) => m.initial)).toEqual([4]);

    // The plugin still passes its own tests, each call seeing the 4 pages it starts with.
    const tested = await runCli(["test", "--no-build"], { cwd: dir, timeoutMs: 120_000 });
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.stdout).toMatch(/^ok +greets by name +fuel [\d,]+ +memory 4 pages/m);
  },
  180_000,
);

// `host dev` picks up a source change and the server serves the new behaviour without a restart;
// `host serve --trust` takes the project's single .pub file.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { adminToken, type Background, startCli, startServer } from "./_background.ts";

const work = await mkdtemp(join(tmpdir(), "plughost-dev-"));
const running: Background[] = [];
afterAll(async () => {
  for (const b of running) await b.stop();
  await rm(work, { recursive: true, force: true });
});

async function greet(url: string, token: string): Promise<unknown> {
  const response = await fetch(`${url}/v1/plugins/devloop/capabilities/greet`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Ada" }),
  });
  return await response.json();
}

describe("host dev", () => {
  it(
    "rebuilds, re-signs and uploads on a source change; the server serves it at once",
    async () => {
      const dir = join(work, "devloop");
      expect((await runCli(["new", "devloop", "--lang", "as"], { cwd: work })).code).toBe(0);
      // The first build makes keys/dev.pub, which the server is told to trust.
      expect((await runCli(["build"], { cwd: dir, timeoutMs: 120_000 })).code).toBe(0);
      const home = join(work, "server");
      const token = await adminToken(home);
      const { server, url } = await startServer(home, join(dir, "keys", "dev.pub"), work);
      running.push(server);

      const dev = startCli(["dev", "--server", url, "--token", token, "--interval-ms", "100"], dir);
      running.push(dev);
      await dev.waitFor(/uploaded devloop 0\.1\.0/, 120_000);
      expect(dev.output()).toMatch(/watching \. for changes/);
      expect(await greet(url, token)).toEqual({ message: "Hello, Ada!", greetings: 1 });
      // host dev follows the server's event stream: the call shows up with its result and usage.
      await dev.waitFor(/run [0-9A-Z]{26} greet \(http\) ok \[fuel \d+/, 60_000);

      const source = join(dir, "assembly", "index.ts");
      await writeFile(source, (await readFile(source, "utf8")).replace('"Hello, "', '"Howdy, "'));
      // The second upload: the loaded plugin is replaced, KV kept (same plugin id).
      await dev.waitFor(/uploaded devloop[^\n]*\n[\s\S]*uploaded devloop/, 120_000);
      expect(await greet(url, token)).toEqual({ message: "Howdy, Ada!", greetings: 2 });

      // A change that does not compile is reported; the server keeps the last good plugin.
      await writeFile(source, (await readFile(source, "utf8")) + "\nthis is not AssemblyScript\n");
      await dev.waitFor(/host dev: build failed/, 120_000);
      expect(await greet(url, token)).toEqual({ message: "Howdy, Ada!", greetings: 3 });
    },
    300_000,
  );

  it("refuses to start without --server (exit 64)", async () => {
    const result = await runCli(["dev"], { cwd: work });
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/Missing --server URL/);
  });
});

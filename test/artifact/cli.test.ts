/**
 * End to end: the real `host` CLI (Node and Deno) making keys, signing a real
 * Extism plugin, verifying and inspecting it.
 */
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { conformanceDir, conformanceTitle, hasConformance } from "../helpers/conformance.ts";

const manifest = {
  schemaVersion: 1,
  id: "test.vowels",
  version: "1.2.3",
  name: "Vowels",
  engines: { host: "^0.1.0", abi: 1 },
  capabilities: { count: { export: "count_vowels" } },
};

for (const runtime of ["node", "deno"] as const) {
  describe(`signing commands on ${runtime}`, () => {
    let dir: string;
    const run = (...args: string[]) =>
      runCli(args, { runtime, cwd: dir, env: { PLUGHOST_HOME: "", PLUGHOST_TRUST: "" } });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `plughost-cli-${runtime}-`));
      await writeFile(join(dir, "plugin.json"), JSON.stringify(manifest));
    });

    it("keygen writes a 0600 private key, a public key, trusts it, and prints only the key id", async () => {
      const result = await run(
        "keygen",
        "--out",
        ".plughost/keys/dev",
        "--trust",
        ".plughost/trust",
      );
      expect(result.code).toBe(0);
      const keyId = result.stdout.trim();
      expect(keyId).toMatch(/^[0-9a-f]{16}$/);
      expect((await stat(join(dir, ".plughost/keys/dev.key"))).mode & 0o777).toBe(0o600);
      const secret =
        JSON.parse(await readFile(join(dir, ".plughost/keys/dev.key"), "utf8")).secretKey;
      expect(result.stdout + result.stderr).not.toContain(secret);
      expect(await stat(join(dir, `.plughost/trust/${keyId}.pub`))).toBeTruthy();
      // A second keygen never overwrites; --if-missing reuses the key.
      expect((await run("keygen", "--out", ".plughost/keys/dev")).code).toBe(1);
      const again = await run("keygen", "--out", ".plughost/keys/dev", "--if-missing", "--json");
      expect(JSON.parse(again.stdout)).toMatchObject({ keyId, created: false });
    });

    // These three sign an Extism conformance plugin (the third reads what the first wrote);
    // without the plugins (a clone elsewhere) they skip, named.
    it.skipIf(!hasConformance)(
      conformanceTitle(
        "sign embeds the manifest; verify (default trust dir) passes; inspect shows it",
      ),
      async () => {
        const plugin = join(conformanceDir, "code.wasm");
        const signed = await run(
          "sign",
          plugin,
          "--key",
          ".plughost/keys/dev.key",
          "--manifest",
          "plugin.json",
          "--out",
          "v.wasm",
        );
        expect(signed.stderr).toBe("");
        expect(signed.code).toBe(0);
        const verified = await run("verify", "v.wasm");
        expect(verified.stdout).toMatch(/^v\.wasm: OK test\.vowels 1\.2\.3/);
        expect(verified.stdout).toMatch(/valid, trusted \(dev\)/);
        expect(verified.code).toBe(0);
        const inspected = JSON.parse((await run("inspect", "v.wasm", "--json")).stdout);
        expect(inspected.manifest).toEqual(manifest);
        expect(inspected.exports).toContainEqual({ name: "count_vowels", kind: "function" });
        expect(inspected.sections.at(-1)).toMatchObject({
          kind: "custom",
          name: "plughost.signature",
        });
        expect(inspected.signatures).toHaveLength(1);
      },
    );

    it.skipIf(!hasConformance)(
      conformanceTitle(
        "verify exits 1 with the reason for an unsigned, untrusted or tampered file",
      ),
      async () => {
        await run("keygen", "--out", "other");
        await run(
          "sign",
          join(conformanceDir, "code.wasm"),
          "--key",
          "other.key",
          "--manifest",
          "plugin.json",
          "--out",
          "o.wasm",
        );
        const bytes = new Uint8Array(await readFile(join(dir, "v.wasm")));
        bytes[2000]! ^= 0xff;
        await writeFile(join(dir, "t.wasm"), bytes);
        const result = await run(
          "verify",
          "o.wasm",
          "t.wasm",
          join(conformanceDir, "code.wasm"),
          "--json",
        );
        expect(result.code).toBe(1);
        const files = JSON.parse(result.stdout).files as { ok: boolean; reason: string }[];
        expect(files.map((f) => [f.ok, f.reason])).toEqual([[false, "unknown_key"], [
          false,
          "tampered",
        ], [false, "no_manifest"]]);
        const text = await run("verify", "t.wasm");
        expect(text.stdout).toMatch(/^t\.wasm: FAILED tampered: /);
      },
    );

    it.skipIf(!hasConformance)(
      conformanceTitle("exits 65 for a file that is not WebAssembly and 64 for bad usage"),
      async () => {
        expect((await run("verify", "plugin.json")).code).toBe(65);
        const missing = await run("verify", "missing.wasm", "v.wasm");
        expect(missing.code).toBe(65);
        expect(missing.stdout).toMatch(
          /^missing\.wasm: FAILED unreadable: Cannot read 'missing\.wasm': no such file\nv\.wasm: OK/,
        );
        expect((await run("inspect", "plugin.json")).code).toBe(65);
        expect((await run("verify")).code).toBe(64);
        expect((await run("sign", "v.wasm")).code).toBe(64);
        expect((await run("keygen")).code).toBe(64);
      },
    );
  });
}

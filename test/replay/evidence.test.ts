/**
 * Evidence bundles: what a bundle holds, offline verification (any changed
 * byte fails), `host export` + `host verify` in-process, and the run-failure
 * trigger that writes a bundle with an `evidence.written` event.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../host/cli/main.ts";
import { type EvidenceBody, exportEvidence } from "../../host/core/evidence.ts";
import { createHost, type Host } from "../../host/host.ts";
import { openStore } from "../../host/store/mod.ts";
import { checkBundle, hostSigningKey, loadTrustStore, trustKey } from "../../host/trust/mod.ts";

const devTrust = resolve(".plughost/trust");
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

let home: string;
let host: Host | undefined;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "plughost-evidence-"));
});
afterEach(async () => {
  await host?.close();
  host = undefined;
  await rm(home, { recursive: true, force: true });
});

async function helloRuns(h: Host, correlationId: string): Promise<string[]> {
  await h.install(await readFile("build/plugins/hello.wasm"));
  const ids: string[] = [];
  for (const name of ["Ada", "Grace"]) {
    const r = await h.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: json({ name }),
      trigger: "cli",
      correlationId,
      durable: true,
    });
    ids.push(r.runId);
  }
  return ids;
}

describe("evidence bundles", () => {
  it("hold the runs, events, replay records, manifest, signer keys and a doctor summary; any changed byte fails", async () => {
    host = await createHost({ home, paths: { trust: devTrust }, cache: false });
    const [first] = await helloRuns(host, "incident-7");
    const { key } = await hostSigningKey(join(home, "keys"));
    const deps = {
      store: host.store,
      trust: await loadTrustStore(devTrust),
      get: (id: string) => host!.get(id),
    };
    const bytes = await exportEvidence(deps, { run: first! }, key);
    const checked = await checkBundle(bytes);
    expect(checked).toMatchObject({ ok: true, keyId: key.keyId });
    if (!checked.ok) return;
    const body = checked.body as EvidenceBody;
    expect(body.runs.map((r) => r.id)).toEqual([first]);
    expect(body.events.map((e) => e.type)).toContain("run.finished");
    expect(body.replay).toMatchObject([{ runId: first, mode: "strict" }]);
    // The dev key is made per checkout (.plughost/keys), so its id is read, not written down.
    const devKeyId = host.get("example.hello")!.signers[0]!.keyId;
    expect(body.plugins).toMatchObject([{
      id: "example.hello",
      moduleDigest: body.runs[0]!.moduleDigest,
      manifest: { id: "example.hello" },
      signerKeyIds: [devKeyId],
    }]);
    expect(body.signers).toMatchObject([{ keyId: devKeyId }]);
    expect(body.doctor.map((c) => c.name)).toContain("run-coverage");

    // Every byte of the header, and a spread of the body's, changed one at a time.
    const newline = bytes.indexOf(10);
    const positions = new Set<number>();
    for (let i = 0; i <= newline; i++) positions.add(i);
    const stride = Math.max(1, Math.floor((bytes.length - newline) / 600));
    for (let i = newline + 1; i < bytes.length; i += stride) positions.add(i);
    positions.add(bytes.length - 1);
    for (const i of positions) {
      const tampered = bytes.slice();
      tampered[i] = tampered[i]! ^ 0x01;
      expect((await checkBundle(tampered)).ok, `byte ${i} changed`).toBe(false);
    }

    const byCorrelation = await checkBundle(
      await exportEvidence(deps, { correlation: "incident-7" }, key),
    );
    expect(byCorrelation.ok && (byCorrelation.body as EvidenceBody).runs).toHaveLength(2);
    const window = await checkBundle(
      await exportEvidence(
        deps,
        { plugin: "example.hello", since: Date.now() - 60_000, until: Date.now() + 1000 },
        key,
      ),
    );
    expect(window.ok && (window.body as EvidenceBody).runs).toHaveLength(2);
  });

  it("host export writes a bundle that host verify accepts offline, and refuses a changed one", async () => {
    host = await createHost({ home, paths: { trust: devTrust }, cache: false });
    const [run] = await helloRuns(host, "c");
    await host.close();
    host = undefined;
    const io = (out: string[]) => ({
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void out.push(t),
      env: { PLUGHOST_HOME: home, PLUGHOST_TRUST: devTrust },
      cwd: home,
    });
    const file = join(home, "run.evidence");
    const out: string[] = [];
    expect(await main(["export", "--run", run!, "-o", file, "--json"], io(out))).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ runs: 1 });

    // The verifier trusts the host's key (keys/host.pub), nothing else is needed.
    const verifierTrust = join(home, "verifier-trust");
    const { key } = await hostSigningKey(join(home, "keys"));
    await trustKey(verifierTrust, key.publicKey, { label: "host" });
    const verified: string[] = [];
    expect(await main(["verify", file, "--trust", verifierTrust], io(verified))).toBe(0);
    expect(verified.join("")).toMatch(/OK evidence bundle, 1 run\(s\)/);

    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x20;
    await writeFile(join(home, "changed.evidence"), bytes);
    const failed: string[] = [];
    expect(
      await main(["verify", join(home, "changed.evidence"), "--trust", verifierTrust], io(failed)),
    )
      .toBe(1);
    expect(failed.join("")).toMatch(/FAILED tampered/);
    const unknown: string[] = [];
    expect(await main(["verify", file, "--trust", devTrust], io(unknown))).toBe(1);
    expect(unknown.join("")).toMatch(/FAILED unknown_key/);
    expect(await main(["export", "--run", "01NOSUCHRUN", "-o", file], io([]))).toBe(1);
    expect(await main(["export", "-o", file], io([]))).toBe(64);
  });

  it("a run failing with a configured class writes a bundle and an evidence.written event", async () => {
    const dir = join(home, "evidence");
    host = await createHost({
      home,
      paths: { trust: devTrust },
      cache: false,
      evidence: { dir, onRunFailed: ["plugin_error"] },
    });
    await host.load(await readFile("build/plugins/hello.wasm"), "hello.wasm");
    const ok = await host.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: json({ name: "x" }),
      trigger: "cli",
      durable: true,
    });
    const failed = await host.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: new Uint8Array(), // hello refuses no input: plugin_error
      trigger: "cli",
      durable: true,
    });
    expect(failed.ok).toBe(false);
    await host.close();
    host = undefined;
    expect(existsSync(join(dir, `${ok.runId}.evidence`))).toBe(false);
    const bundle = await checkBundle(await readFile(join(dir, `${failed.runId}.evidence`)));
    expect(bundle.ok && (bundle.body as EvidenceBody).runs[0]!.id).toBe(failed.runId);
    const store = await openStore({ url: `file:${join(home, "host.db")}` });
    try {
      const events = await store.events.query({ type: "evidence.written", limit: 10 });
      expect(events.events).toMatchObject([{
        runId: failed.runId,
        payload: { trigger: { kind: "run.failed", errorClass: "plugin_error" } },
      }]);
    } finally {
      await store.close();
    }
  });
});

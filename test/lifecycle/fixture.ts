/**
 * The lifecycle test plugin (test/fixtures/lifecycle.wat: exports ok, fail,
 * spin) signed with any manifest, so each test names its own hooks.
 * @module
 */
import { type SigningKey, signPlugin } from "../../host/trust/mod.ts";
import { fixture } from "../sandbox/fixtures.ts";

/** The fixture signed by `key` as plugin `id`, `extra` merged into its manifest. */
export async function lifecyclePlugin(
  key: SigningKey,
  id: string,
  extra: Record<string, unknown> = {},
  version = "1.0.0",
): Promise<Uint8Array> {
  const manifest = {
    schemaVersion: 1,
    id,
    version,
    name: `Lifecycle ${id}`,
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: { ok: { export: "ok" }, fail: { export: "fail" } },
    ...extra,
  };
  return (await signPlugin(fixture("lifecycle"), key, { manifest: JSON.stringify(manifest) }))
    .wasm;
}

/**
 * The probe test plugin (probe/index.ts), compiled once per test file and
 * signed with any manifest, so tests can grant and deny host functions freely.
 * @module
 */
import { join } from "node:path";
import { type SigningKey, signPlugin } from "../../host/trust/mod.ts";
import { compileAssemblyScript, root } from "../sdk/asc.ts";

let compiled: Promise<Uint8Array> | undefined;

/** The probe's module, unsigned. */
export function probeWasm(): Promise<Uint8Array> {
  compiled ??= compileAssemblyScript(join(root, "test", "capabilities", "probe", "index.ts"));
  return compiled;
}

/** The probe signed by `key` as plugin `id` with `permissions`. */
export async function signedProbe(
  key: SigningKey,
  id: string,
  permissions: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const manifest = {
    schemaVersion: 1,
    id,
    version: "1.0.0",
    name: `Probe ${id}`,
    engines: { host: "^0.1.0", abi: 1 },
    capabilities: {
      run: {
        export: "run",
        input: { type: "object", properties: { ops: { type: "array" } }, required: ["ops"] },
      },
    },
    permissions,
    ...extra,
  };
  return (await signPlugin(await probeWasm(), key, { manifest: JSON.stringify(manifest) })).wasm;
}

/** Probe input running `ops`. */
export const ops = (...list: Record<string, unknown>[]) => ({ ops: list });

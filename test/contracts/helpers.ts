/** Shared imports and small builders of the contract tests. */
import type { Provider } from "../../host/contracts/mod.ts";
export {
  contractJsonSchemaText,
  contractProblems,
  CONTRACTS,
  dispatchContract,
} from "../../host/contracts/mod.ts";

/** Providers from [plugin id, priority] pairs, sorted as the host sorts them. */
export function inventoryProviders(...pairs: [string, number][]): Provider[] {
  return pairs.map(([pluginId, priority]) => ({ pluginId, priority }))
    .sort((a, b) => b.priority - a.priority || a.pluginId.localeCompare(b.pluginId));
}

import { concat } from "../../host/artifact/bytes.ts";
import { encodeCustomSection, setCustomSection } from "../../host/artifact/custom-sections.ts";
import { signedDigest } from "../../host/artifact/digest.ts";
import { MANIFEST_SECTION, SIGNATURE_SECTION } from "../../host/artifact/names.ts";
import { toBase64 } from "../../host/trust/base64.ts";
import { sign } from "../../host/trust/ed25519.ts";
import type { SigningKey } from "../../host/trust/mod.ts";
import { encodeSignatureSection } from "../../host/trust/signatures.ts";

/**
 * Embeds `manifest` and signs the module WITHOUT the manifest checks `host
 * sign` runs: the file a third party (or an older host) could have made, for
 * testing that install itself refuses it.
 */
export async function signUnchecked(
  wasm: Uint8Array,
  key: SigningKey,
  manifest: object,
): Promise<Uint8Array> {
  const out = setCustomSection(
    wasm,
    MANIFEST_SECTION,
    new TextEncoder().encode(JSON.stringify(manifest)),
  );
  const signature = await sign(await signedDigest(out), key.secretKey);
  return concat([
    out,
    encodeCustomSection(
      SIGNATURE_SECTION,
      encodeSignatureSection([{ alg: "ed25519", keyId: key.keyId, sig: toBase64(signature) }]),
    ),
  ]);
}

/**
 * The core's errors speak to a CLI user (a trust store's file path, "pass
 * --trust", "use force"). An HTTP client can do none of that: this rewords
 * the few such errors for HTTP, from their structured details, so no
 * response shows a server path or a command-line flag.
 * @module
 */
import { HostError } from "../errors.ts";

/** `error` as an HTTP client should read it (unchanged when already fine). */
export function forHttp(error: unknown): unknown {
  if (!(error instanceof HostError)) return error;
  const details = error.details ?? {};
  const reword = (message: string) =>
    new HostError(error.code, message, {
      cause: error,
      details,
      extensions: error.extensions,
      headers: error.headers,
    });
  if (error.code === "conflict" && typeof details.installed === "string") {
    return reword(
      `Plugin '${details.pluginId}' ${details.installed} is installed; ${details.candidate} is ` +
        "not higher: upload again with ?force=true to replace it",
    );
  }
  if (error.code === "conflict" && Array.isArray(details.pinnedKeyIds)) {
    const signers = Array.isArray(details.signerKeyIds) ? details.signerKeyIds : [];
    return reword(
      `Plugin '${details.pluginId}' is pinned to key(s) ${details.pinnedKeyIds.join(", ")}, ` +
        `which first installed it; this file is signed by ` +
        `${
          signers.length > 0 ? `key(s) ${signers.join(", ")}` : "no trusted key"
        }. If the plugin ` +
        "really changed hands, upload again with ?rekey=true (admin scope); otherwise refuse this file",
    );
  }
  if (
    error.code === "dependency_error" && details.kind === "dependents" &&
    details.version === undefined && Array.isArray(details.dependents)
  ) {
    const wants = (details.dependents as { by: string; range: string }[])
      .map((d) => `${d.by} needs ${d.range}`).join(", ");
    return reword(
      `Plugin '${details.pluginId}' is needed by installed plugins (${wants}): uninstall them first`,
    );
  }
  if (error.code !== "verification_failed") return error;
  const keys = Array.isArray(details.keyIds) ? details.keyIds.join(", ") : "";
  switch (details.reason) {
    case "unknown_key":
      return reword(
        `unknown_key: Signed by key(s) ${keys}, none of them in the server's trust store: ` +
          "the server's operator must trust the signer's public key first (docs/signing.md)",
      );
    case "no_signature":
      return reword(
        "no_signature: The file is not signed: sign it (docs/signing.md) and upload the signed file",
      );
    case "no_manifest":
      return reword(
        "no_manifest: The file has no plughost.manifest section: add the manifest when signing " +
          "(docs/signing.md) and upload the signed file",
      );
    default:
      return error;
  }
}

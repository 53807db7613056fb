/**
 * `host verify FILE... [--trust PATH] [--json]`: check plugin files and
 * evidence bundles (recognised by their first bytes, docs/replay.md) against a
 * trust store; exit 0 only if every file verifies.
 * @module
 */
import { resolvePaths } from "../config/paths.ts";
import { moduleProblemOf } from "../artifact/mod.ts";
import { ExitCode, HostError, UsageError } from "../errors.ts";
import {
  checkBundle,
  checkPlugin,
  isEvidenceBundle,
  loadTrustStore,
  type PluginReport,
  type TrustStore,
} from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";
import { readFileArg } from "./files.ts";

const usage = `Usage: host verify <file.wasm|bundle>... [options]

Checks that each plugin file is intact and signed by a trusted key that is not
revoked or expired, and prints its id, version, digest and signatures.
An evidence bundle ('host export') is recognised by its first bytes and checked
offline: intact (any changed byte fails) and signed by a trusted key (reasons
tampered, unknown_key, revoked, expired).
Exit 0 if every file verifies, 1 if any does not (the reason is printed:
malformed, no_manifest, no_signature, tampered, unknown_key, revoked, expired,
invalid_manifest, incompatible), 65 if a file is unreadable or not WebAssembly
(reasons unreadable, not_wasm).

Options:
  --trust PATH   Trust store directory (default: $PLUGHOST_TRUST or $PLUGHOST_HOME/trust,
                 PLUGHOST_HOME defaulting to ./.plughost)
  --json         Print {"ok":...,"trust":...,"files":[...]}
`;

type FileResult =
  & { file: string }
  & (
    | PluginReport
    | { ok: false; reason: "not_wasm" | "unreadable"; message: string }
    | BundleResult
  );

/** How an evidence bundle checked. */
interface BundleResult {
  kind: "evidence-bundle";
  ok: boolean;
  reason?: "tampered" | "unknown_key" | "revoked" | "expired" | undefined;
  message: string;
  keyId: string | null;
  runs: number | null;
}

export const command: Command = {
  name: "verify",
  summary: "Check that plugin files are intact and signed by trusted keys",
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ...commonOptions,
      trust: { type: "string" },
    });
    if (positionals.length === 0) throw new UsageError("Missing <file.wasm>");
    const trustPath = resolvePaths(io.env, io.cwd, { trust: values.trust }).trust;
    const trust = await loadTrustStore(trustPath);

    const results: FileResult[] = [];
    for (const file of positionals) {
      try {
        const bytes = await readFileArg(file, io.cwd);
        if (isEvidenceBundle(bytes)) {
          results.push({ file, ...(await bundleResult(bytes, trust)) });
          continue;
        }
        results.push({ file, ...(await checkPlugin(bytes, trust)) });
      } catch (error) {
        if (!(error instanceof HostError) || error.code !== "invalid_input") throw error;
        const reason = moduleProblemOf(error) === "not_wasm" ? "not_wasm" : "unreadable";
        results.push({ file, ok: false, reason, message: error.message });
      }
    }
    const code = results.some((r) => r.reason === "not_wasm" || r.reason === "unreadable")
      ? ExitCode.dataError
      : results.every((r) => r.ok)
      ? ExitCode.ok
      : ExitCode.failed;

    if (values.json) {
      io.stdout(
        JSON.stringify({ ok: code === ExitCode.ok, trust: trustPath, files: results.map(toJson) }) +
          "\n",
      );
      return code;
    }
    if (trust.keys.size === 0) {
      io.stderr(`host verify: warning: the trust store ${trustPath} has no keys\n`);
    }
    for (const r of results) io.stdout(describe(r));
    return code;
  },
};

/** A bundle is intact and signed by a key of the trust store that is not revoked or expired. */
async function bundleResult(bytes: Uint8Array, trust: TrustStore): Promise<BundleResult> {
  const checked = await checkBundle(bytes);
  const base = { kind: "evidence-bundle" as const, keyId: null, runs: null };
  if (!checked.ok) return { ...base, ok: false, reason: "tampered", message: checked.reason };
  const runs = (checked.body as { runs?: unknown[] }).runs?.length ?? null;
  const known = { ...base, keyId: checked.keyId, runs };
  const key = trust.keys.get(checked.keyId);
  if (!key || !sameBytes(key.publicKey, checked.publicKey)) {
    return {
      ...known,
      ok: false,
      reason: "unknown_key",
      message: `signed by key ${checked.keyId}, which is not in the trust store ${trust.path}`,
    };
  }
  if (trust.revoked.has(checked.keyId)) {
    return { ...known, ok: false, reason: "revoked", message: `key ${checked.keyId} is revoked` };
  }
  if (key.expires !== undefined && key.expires.getTime() <= Date.now()) {
    return { ...known, ok: false, reason: "expired", message: `key ${checked.keyId} expired` };
  }
  return { ...known, ok: true, message: `evidence bundle of ${runs} run(s), intact` };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function toJson(r: FileResult) {
  if ("kind" in r) return r;
  if (!("signatures" in r)) {
    return { file: r.file, ok: false, reason: r.reason, message: r.message };
  }
  return {
    file: r.file,
    ok: r.ok,
    reason: r.reason ?? null,
    message: r.message,
    pluginId: r.pluginId ?? null,
    version: r.version ?? null,
    digest: r.digest ?? null,
    moduleDigest: r.moduleDigest ?? null,
    signatures: r.signatures.map((s) => ({ ...s, label: s.label ?? null })),
  };
}

function describe(r: FileResult): string {
  if ("kind" in r) {
    return r.ok
      ? `${r.file}: OK evidence bundle, ${r.runs} run(s), signed by ${r.keyId} (trusted)\n`
      : `${r.file}: FAILED ${r.reason}: ${r.message}\n`;
  }
  if (!("signatures" in r)) return `${r.file}: FAILED ${r.reason}: ${r.message}\n`;
  const what = [r.pluginId ?? "(no id)", r.version ?? ""].join(" ").trim();
  const lines = [
    r.ok ? `${r.file}: OK ${what}` : `${r.file}: FAILED ${r.reason}: ${r.message}`,
  ];
  if (!r.ok && r.pluginId !== undefined) lines.push(`  plugin     ${what}`);
  if (r.digest !== undefined) lines.push(`  digest     sha256:${r.digest}`);
  for (const s of r.signatures) {
    const validity = s.valid === null ? "not checked (unknown key)" : s.valid ? "valid" : "INVALID";
    const trust = s.trusted
      ? `trusted${s.label === undefined ? "" : ` (${s.label})`}`
      : s.status.replace("_", " ");
    lines.push(
      `  signature  ${s.keyId}  ${s.alg}  ${validity}, ${
        s.trusted ? trust : `not trusted: ${trust}`
      }`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Evidence bundles (docs/replay.md, "Evidence bundles"): the runs a selector
 * picks (one run, a plugin in a time window, or a correlation id) with their
 * events, replay records (config snapshots), the manifests and module digests
 * of their plugins, the public keys of those plugins' signers, and a doctor
 * summary, signed into one file with the host's key (host/trust/evidence.ts).
 * @module
 */
import { HostError } from "../errors.ts";
import {
  type Check,
  checkDatabase,
  type Event,
  type ReplayRecord,
  type RunRecord,
  type Store,
} from "../store/mod.ts";
import { publicKeyDocument, type SigningKey, type TrustStore } from "../trust/mod.ts";
import { writeBundle } from "../trust/evidence.ts";
import type { PluginInfo } from "./types.ts";

/** Which runs a bundle holds. */
export type EvidenceSelector =
  | { run: string }
  | { plugin: string; since: number; until: number }
  | { correlation: string };

/** What collecting evidence needs of a host. */
export interface EvidenceDeps {
  store: Store;
  trust: TrustStore;
  get(pluginId: string): PluginInfo | undefined;
  /** Where installed modules live (for the doctor summary). */
  pluginsDir?: string | undefined;
}

/** Most runs one bundle holds; a selector that picks more is refused. */
export const EVIDENCE_MAX_RUNS = 1000;

/** The body of a bundle, version 1 (docs/replay.md lists every field). */
export interface EvidenceBody {
  kind: "plughost-evidence";
  createdAt: string;
  selector: EvidenceSelector;
  runs: RunRecord[];
  events: Event[];
  replay: ReplayRecord[];
  plugins: {
    id: string;
    moduleDigest: string;
    version: string | null;
    manifest: unknown;
    signerKeyIds: string[];
  }[];
  signers: unknown[];
  doctor: Check[];
}

/** Collects the evidence `selector` picks; throws `not_found` when it picks no run. */
export async function collectEvidence(
  deps: EvidenceDeps,
  selector: EvidenceSelector,
): Promise<EvidenceBody> {
  const runs = await selectRuns(deps.store, selector);
  if (runs.length === 0) throw new HostError("not_found", "No run matches the selector");
  const events: Event[] = [];
  for (const run of runs) {
    const page = await deps.store.events.query({ runId: run.id, limit: 1000 });
    events.push(...page.events);
  }
  if ("plugin" in selector) {
    // The plugin's own host events in the window (state changes, breaker opened or closed):
    // they belong to no run, and say why a plugin was suspended.
    const page = await deps.store.events.query({
      type: "plugin.*",
      pluginId: selector.plugin,
      since: selector.since,
      limit: 1000,
    });
    events.push(
      ...page.events.filter((e) => e.runId === null && Date.parse(e.ts) < selector.until),
    );
  }
  const replay = await deps.store.replay.many(runs.map((r) => r.id));
  const plugins: EvidenceBody["plugins"] = [];
  const seen = new Set<string>();
  const signerIds = new Set<string>();
  for (const run of runs) {
    const key = `${run.pluginId} ${run.moduleDigest}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const loaded = deps.get(run.pluginId);
    const same = loaded !== undefined && `sha256:${loaded.digest}` === run.moduleDigest;
    const signers = same ? loaded.signers.map((s) => s.keyId) : [];
    for (const id of signers) signerIds.add(id);
    plugins.push({
      id: run.pluginId,
      moduleDigest: run.moduleDigest,
      version: run.pluginVersion,
      // The manifest is known only while that module is loaded.
      manifest: same ? loaded.manifest : null,
      signerKeyIds: signers,
    });
  }
  const signers = [];
  for (const id of [...signerIds].sort()) {
    const trusted = deps.trust.keys.get(id);
    if (trusted) {
      signers.push(
        await publicKeyDocument(trusted.publicKey, {
          label: trusted.label,
          expires: trusted.expires?.toISOString(),
        }),
      );
    }
  }
  return {
    kind: "plughost-evidence",
    createdAt: new Date().toISOString(),
    selector,
    runs,
    events,
    replay,
    plugins,
    signers,
    doctor: await checkDatabase(deps.store.url, undefined, deps.pluginsDir),
  };
}

/** Collects and signs a bundle; resolves with its bytes. */
export async function exportEvidence(
  deps: EvidenceDeps,
  selector: EvidenceSelector,
  key: SigningKey,
): Promise<Uint8Array> {
  return await writeBundle(await collectEvidence(deps, selector), key);
}

async function selectRuns(store: Store, selector: EvidenceSelector): Promise<RunRecord[]> {
  if ("run" in selector) {
    const run = await store.runs.get(selector.run);
    return run ? [run] : [];
  }
  const picked: RunRecord[] = [];
  let before: string | undefined;
  for (;;) {
    const page = "plugin" in selector
      ? await store.runs.list({ pluginId: selector.plugin, before, limit: 1000 })
      : await store.runs.list({ correlationId: selector.correlation, before, limit: 1000 });
    for (const run of page.runs) {
      if ("plugin" in selector) {
        const at = Date.parse(run.startedAt);
        if (at < selector.since || at >= selector.until) continue;
      }
      picked.push(run);
      if (picked.length > EVIDENCE_MAX_RUNS) {
        throw new HostError(
          "invalid_input",
          `The selector picks more than ${EVIDENCE_MAX_RUNS} runs: narrow the time window`,
        );
      }
    }
    if (page.cursor === null) break;
    before = page.cursor;
  }
  return picked.reverse();
}

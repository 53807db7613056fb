/**
 * `host plugins [list]`: the installed plugins (the plugins table) and what
 * the running server over the same database loaded from `--plugins` (its
 * `server.started` event), each row marked by its source.
 * @module
 */
import { ExitCode } from "../errors.ts";
import type { Store } from "../store/mod.ts";
import type { CliIo } from "./command.ts";
import { servedPlugins } from "./served.ts";

/** One row of the listing. */
export interface PluginRow {
  id: string;
  version: string;
  /** `enabled`/`disabled` for installed plugins; `served` for one only a server loaded. */
  state: string;
  digest: string;
  /** `installed`, or `served` (loaded by the running server from a file, e.g. `--plugins`). */
  source: "installed" | "served";
  /** The file a served plugin came from. */
  file?: string;
  installedAt?: string;
  /**
   * The lifecycle state the last host over this database recorded (its last
   * `plugin.state_changed` event), with why and when; null when none did.
   */
  lifecycle: { state: string; reason: string; since: string } | null;
}

/** Prints the listing (a table with a header, or one JSON document). */
export async function listPlugins(store: Store, json: boolean, io: CliIo): Promise<number> {
  const installed = await store.plugins.list();
  const served = await servedPlugins(store);
  const rows: PluginRow[] = installed.map((p) => ({
    id: p.id,
    version: p.version,
    state: p.state,
    digest: p.digest,
    source: "installed",
    installedAt: p.installedAt,
    lifecycle: null,
  }));
  const known = new Set(installed.map((p) => p.id));
  for (const p of served?.plugins ?? []) {
    // An installed plugin the server loaded is already listed (with its state).
    if (known.has(p.id) || p.source === "installed" || p.source === "upload") continue;
    rows.push({
      id: p.id,
      version: p.version,
      state: "served",
      digest: p.digest,
      source: "served",
      file: p.source,
      lifecycle: null,
    });
  }
  rows.sort((a, b) => a.id.localeCompare(b.id));
  await Promise.all(rows.map(async (row) => {
    row.lifecycle = await lastLifecycle(store, row.id);
  }));
  const server = served === undefined ? null : { url: served.url, startedAt: served.startedAt };
  if (json) {
    io.stdout(JSON.stringify({ plugins: rows, server }) + "\n");
    return ExitCode.ok;
  }
  if (rows.length === 0) {
    io.stdout(
      "No plugins installed (install one with 'host install FILE.wasm', or serve a directory " +
        "with 'host serve --plugins DIR')\n",
    );
    return ExitCode.ok;
  }
  const table = rows.map((r) => [
    r.id,
    r.version,
    r.state,
    r.lifecycle?.state ?? "-",
    r.source === "served" ? `served: ${r.file}` : "installed",
    `sha256:${r.digest.slice(0, 12)}…`,
  ]);
  const header = ["ID", "VERSION", "STATE", "LIFECYCLE", "SOURCE", "DIGEST"];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  for (const row of [header, ...table]) {
    io.stdout(
      row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n",
    );
  }
  if (served !== undefined && rows.some((r) => r.source === "served")) {
    io.stdout(
      `(served: loaded by the server at ${served.url}, started ${served.startedAt}; ` +
        "it changes through that server's HTTP API)\n",
    );
  }
  for (const r of rows) {
    if (r.lifecycle?.state === "suspended" || r.lifecycle?.state === "error") {
      io.stdout(
        `${r.id} is ${r.lifecycle.state} since ${r.lifecycle.since}: ${r.lifecycle.reason}\n`,
      );
    }
  }
  return ExitCode.ok;
}

/** The last lifecycle state recorded for a plugin (docs/lifecycle.md). */
async function lastLifecycle(store: Store, pluginId: string): Promise<PluginRow["lifecycle"]> {
  const page = await store.events.query({
    type: "plugin.state_changed",
    pluginId,
    limit: 1,
    tail: true,
  });
  const event = page.events.at(-1);
  const payload = event?.payload as { to?: unknown; reason?: unknown } | undefined;
  if (!event || typeof payload?.to !== "string") return null;
  return { state: payload.to, reason: String(payload.reason ?? ""), since: event.ts };
}

/**
 * Checks a manifest against the host (engines) and against its module
 * (capability and hook exports). Each returns problems as `field: message`.
 * @module
 */
import semver from "semver";
import type { ExportInfo } from "../artifact/module-info.ts";
import { ABI_VERSION, VERSION } from "../version.ts";
import type { Manifest } from "./schema.ts";

/** The host a manifest is checked against (defaults: this host). */
export interface HostEngine {
  version: string;
  abi: number;
}

/** This host's version and ABI version. */
export const thisHost: HostEngine = { version: VERSION, abi: ABI_VERSION };

/** Problems with `engines`: the host version outside the range, or another ABI. */
export function engineProblems(manifest: Manifest, host: HostEngine = thisHost): string[] {
  const problems: string[] = [];
  if (!semver.satisfies(host.version, manifest.engines.host, { includePrerelease: true })) {
    problems.push(
      `engines.host: '${manifest.engines.host}' does not include this host's version ${host.version}`,
    );
  }
  if (manifest.engines.abi !== host.abi) {
    problems.push(
      `engines.abi: the plugin needs ABI ${manifest.engines.abi}, this host provides ABI ${host.abi}`,
    );
  }
  return problems;
}

/** Problems with exports: every capability and hook must name a function the module exports. */
export function exportProblems(manifest: Manifest, exports: readonly ExportInfo[]): string[] {
  const functions = new Set(exports.filter((e) => e.kind === "function").map((e) => e.name));
  const wanted: [string, string][] = Object.entries(manifest.capabilities).map((
    [name, c],
  ) => [`capabilities.${name}.export`, c.export]);
  const hooks = manifest.hooks;
  if (hooks?.onLoad !== undefined) wanted.push(["hooks.onLoad", hooks.onLoad]);
  if (hooks?.onEvent !== undefined) wanted.push(["hooks.onEvent.export", hooks.onEvent.export]);
  if (hooks?.onShutdown !== undefined) wanted.push(["hooks.onShutdown", hooks.onShutdown]);
  if (hooks?.onConfigChange !== undefined) {
    wanted.push(["hooks.onConfigChange", hooks.onConfigChange]);
  }
  return wanted.filter(([, name]) => !functions.has(name)).map(([path, name]) =>
    `${path}: the module exports no function named '${name}'`
  );
}

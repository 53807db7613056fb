/**
 * One TypeScript entry bundled for Node as the builds bundle it (ESM, npm
 * packages external), for tests that need a file Node can load in a thread
 * or a child process, or the bundle's import list.
 * @module
 */

/** esbuild's options for such a bundle; add the entry, and where it goes. */
export const NODE_BUNDLE = {
  bundle: true,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "error",
} as const;

/** Bundles `entry` into `outfile`. */
export async function bundleForNode(entry: string, outfile: string): Promise<void> {
  const esbuild = await import("esbuild");
  await esbuild.build({ ...NODE_BUNDLE, entryPoints: [entry], outfile });
}

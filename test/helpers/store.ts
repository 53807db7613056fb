/**
 * A real libSQL store in a fresh temp directory, for tests.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../host/store/mod.ts";

/** Opens a store on a new temp file; `cleanup` closes it and removes the directory. */
export async function tempStore(): Promise<
  { store: Store; dir: string; url: string; cleanup(): Promise<void> }
> {
  const dir = mkdtempSync(join(tmpdir(), "plughost-test-"));
  const url = `file:${join(dir, "host.db")}`;
  const store = await openStore({ url });
  return {
    store,
    dir,
    url,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

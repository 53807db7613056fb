import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newKey, signedFirstParty } from "../helpers/signing.ts";
import { writeKey } from "./_coldfiles.ts";
const dir = process.argv[2]!;
mkdirSync(dir, { recursive: true });
const key = await newKey();
writeKey(dir, key);
for (let i = 0; i < 100; i++) {
  const bytes = await signedFirstParty("hello", key, (m) => { m["id"] = `bench.r${i}`; });
  writeFileSync(join(dir, `p${String(i).padStart(3, "0")}.wasm`), bytes);
}

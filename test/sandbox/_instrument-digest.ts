/**
 * Child process of binaryen-lite.test.ts: prints which binaryen this process
 * loaded and the SHA-256 of hello instrumented with it, so two processes (the
 * copy, and PLUGHOST_BINARYEN=package) can be compared.
 * Run: node scripts/run-ts.mjs test/sandbox/_instrument-digest.ts FILE.wasm
 * @module
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import process from "node:process";
import { binaryenSource } from "../../host/sandbox/instrument/binaryen.ts";
import { instrument } from "../../host/sandbox/instrument/mod.ts";
import { workerVariant } from "../../host/sandbox/instrument/worker-variant.ts";

const wasm = new Uint8Array(readFileSync(process.argv[2]!));
const { bytes } = instrument(wasm, { memoryMaxPages: 64 });
const digest = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
process.stdout.write(
  JSON.stringify({
    source: binaryenSource,
    main: digest(bytes),
    worker: digest(workerVariant(bytes)),
  }) + "\n",
);

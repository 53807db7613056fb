/**
 * Splits a WebAssembly module into its sections without interpreting them,
 * keeping every section's exact bytes so a module can be rewritten with only
 * its custom sections changed.
 * @module
 */
import { HostError } from "../errors.ts";
import { LebError, readUleb } from "./leb128.ts";

/** The 8-byte preamble of a core WebAssembly module: `\0asm` and version 1. */
export const WASM_HEADER: Uint8Array = Uint8Array.of(
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
);

/** Why bytes could not be read as a module: not WebAssembly at all, or broken inside. */
export type ModuleProblem = "not_wasm" | "malformed";

/** One section: its id, where its bytes are, and for custom sections the name and data. */
export interface Section {
  /** Section id: 0 custom, 1 type, 2 import, ..., 12 data count, 13 tag. */
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offset just past the section. */
  end: number;
  /** Offset of the payload (after the size). */
  payloadStart: number;
  /** Custom sections only: the section name. */
  name?: string;
  /** Custom sections only: the offset of the data after the name. */
  dataStart?: number;
}

/** A parsed module: its bytes and its sections in file order. */
export interface WasmModule {
  bytes: Uint8Array;
  sections: Section[];
}

const MAX_SECTION_ID = 13;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Builds the error for unreadable module bytes (exit 65, `details.problem` says which kind). */
export function moduleError(problem: ModuleProblem, message: string): HostError {
  return new HostError("invalid_input", message, { details: { problem } });
}

/** The problem kind of an error thrown by {@link parseModule}, if it is one. */
export function moduleProblemOf(error: unknown): ModuleProblem | undefined {
  if (!(error instanceof HostError) || error.code !== "invalid_input") return undefined;
  const problem = error.details?.["problem"];
  return problem === "not_wasm" || problem === "malformed" ? problem : undefined;
}

/**
 * Parses the section structure of a core WebAssembly module.
 * Throws HostError("invalid_input") with `details.problem` "not_wasm" when the
 * header is wrong and "malformed" when a section runs past the end, has an
 * unknown id or a custom section name that is not UTF-8.
 */
export function parseModule(bytes: Uint8Array): WasmModule {
  if (bytes.length < 8 || !WASM_HEADER.subarray(0, 4).every((b, i) => bytes[i] === b)) {
    throw moduleError("not_wasm", "Not a WebAssembly module: the file does not start with \\0asm");
  }
  if (!WASM_HEADER.subarray(4).every((b, i) => bytes[4 + i] === b)) {
    throw moduleError(
      "not_wasm",
      "Not a core WebAssembly module (version 1): components and other versions are not supported",
    );
  }
  const sections: Section[] = [];
  let at = 8;
  try {
    while (at < bytes.length) {
      const id = bytes[at] as number;
      if (id > MAX_SECTION_ID) throw new LebError(`unknown section id ${id} at offset ${at}`);
      const size = readUleb(bytes, at + 1);
      const end = size.next + size.value;
      if (end > bytes.length) {
        throw new LebError(`section ${id} at offset ${at} runs past the end of the file`);
      }
      const section: Section = { id, start: at, end, payloadStart: size.next };
      if (id === 0) {
        const nameLength = readUleb(bytes, size.next);
        const dataStart = nameLength.next + nameLength.value;
        if (dataStart > end) {
          throw new LebError(`custom section name at offset ${at} runs past its section`);
        }
        section.name = decodeName(bytes.subarray(nameLength.next, dataStart), at);
        section.dataStart = dataStart;
      }
      sections.push(section);
      at = end;
    }
  } catch (error) {
    if (!(error instanceof LebError)) throw error;
    throw moduleError("malformed", `Malformed WebAssembly module: ${error.message}`);
  }
  return { bytes, sections };
}

function decodeName(bytes: Uint8Array, at: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new LebError(`custom section name at offset ${at} is not valid UTF-8`);
  }
}

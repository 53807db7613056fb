/**
 * Plugin artifacts: WebAssembly custom sections, digests and module facts.
 * @module
 */
export { encodeUleb, LebError, readUleb } from "./leb128.ts";
export type { Read } from "./leb128.ts";
export { moduleError, moduleProblemOf, parseModule, WASM_HEADER } from "./module.ts";
export type { ModuleProblem, Section, WasmModule } from "./module.ts";
export {
  appendCustomSection,
  customSections,
  encodeCustomSection,
  filterSections,
  readCustomSections,
  removeCustomSections,
  setCustomSection,
} from "./custom-sections.ts";
export type { CustomSection } from "./custom-sections.ts";
export { bytesEqual, concat } from "./bytes.ts";
export { customContents, encodeSection, Reader, readSections, SectionId } from "./reader.ts";
export {
  moduleDigest,
  pluginDigests,
  sha256,
  sha256Hex,
  sha256HexSync,
  sha256Id,
  sha256Sync,
  signedContent,
  signedDigest,
  toHex,
} from "./digest.ts";
export { moduleInfo } from "./module-info.ts";
export type {
  ExportInfo,
  ExternKind,
  ImportInfo,
  MemoryLimits,
  ModuleInfo,
} from "./module-info.ts";
export { MANIFEST_SECTION, SIGNATURE_SECTION } from "./names.ts";

/** Names of the custom sections a plughost plugin carries (see docs/plugin-format.md). */

/** Custom section holding the manifest as UTF-8 JSON. */
export const MANIFEST_SECTION = "plughost.manifest";

/** Custom section holding `{"signatures":[...]}` as UTF-8 JSON. */
export const SIGNATURE_SECTION = "plughost.signature";

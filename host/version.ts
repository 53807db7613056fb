/** The host's version (kept equal to package.json by a test). */
export const VERSION = "0.1.0";

/** The host ABI version plugins negotiate through `engines.abi`. */
export const ABI_VERSION = 1;

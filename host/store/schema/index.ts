/**
 * Every table of the host database, grouped by concern; drizzle.config.ts reads this barrel.
 * @module
 */
export * from "./events.ts";
export * from "./kv.ts";
export * from "./plugins.ts";
export * from "./runs.ts";
export * from "./tokens.ts";
export * from "./schedules.ts";
export * from "./registry.ts";
export * from "./delivery.ts";
export * from "./config.ts";
export * from "./secrets.ts";
export * from "./replay.ts";

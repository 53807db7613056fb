/**
 * The host's store: libSQL through drizzle-orm. Append-only events, a
 * RunRecord for every run, installed plugins and per-plugin kv.
 * @module
 */
export { openExistingStore, openStore, type Store, type StoreOptions } from "./store.ts";
export { APPEND_ONLY_TRIGGERS, type Check, checkDatabase } from "./doctor.ts";
export {
  type EventBatch,
  type EventBatchItem,
  type EventPage,
  type EventQuery,
  EventsRepository,
} from "./events.ts";
export { type RunPage, type RunQuery, RunsRepository } from "./runs.ts";
export {
  type KvEntry,
  type KvItem,
  type KvPage,
  KvRepository,
  type KvSnapshot,
  type KvWrites,
} from "./kv.ts";
export {
  bytesExceeded,
  checkKvKey,
  DEFAULT_KV_MAX_KEYS,
  keysExceeded,
  type KvLimits,
  type KvUsage,
  MAX_KV_KEY_BYTES,
  MAX_KV_VALUE_BYTES,
  MAX_KV_WRITES_PER_CALL,
  writesExceeded,
} from "./kv-limits.ts";
export { type InstalledPlugin, PluginInput, PluginsRepository } from "./plugins.ts";
export { Event, EVENT_SCHEMA_VERSION, EventInput, EventLevel } from "./event-schema.ts";
export {
  RunDeterminism,
  RunFinish,
  RunLimits,
  RunRecord,
  RunStart,
  RunStatus,
  RunTrigger,
  RunUsage,
} from "./run-schema.ts";
export { canonicalJson, configFingerprint } from "./digest.ts";
export { dbFilePath, normalizeDbUrl, resolveDbUrl } from "./url.ts";
export { ulid } from "./ulid.ts";
export {
  type ApiToken,
  hashToken,
  TOKEN_PREFIX,
  TokenInput,
  TokenScope,
  TokensRepository,
} from "./tokens.ts";
export { type ConfigChange, ConfigRepository, type ConfigVersion } from "./config.ts";
export {
  type SealedSecret,
  type SecretListing,
  SecretsRepository,
  type StoredSecret,
} from "./secrets.ts";
export type { WriterOptions, WriterStats } from "./writer.ts";
export {
  MissedPolicy,
  type Schedule,
  ScheduleInput,
  SchedulesRepository,
  ScheduleState,
} from "./schedules.ts";
export { type ClaimResult, type Lease, LeasesRepository, type OccurrenceKey } from "./leases.ts";
export type { LeaseBatch, LeaseBatchResult } from "./lease-batch.ts";
export {
  type ArtifactInput,
  type InstallEntry,
  type RegistryArtifact,
  RegistryChannel,
  RegistryRepository,
} from "./registry.ts";
export {
  type DeadLetter,
  type DeadLetterState,
  type DeliveryOutcome,
  DeliveryRepository,
  type LogEvent,
  type LogPage,
  type Subscription,
} from "./delivery.ts";
export { ReplayRecord, ReplayRepository } from "./replay.ts";
export { determinismModes } from "./schema/replay.ts";

/**
 * Event delivery between plugins (docs/delivery.md): durable per-subscriber
 * cursors over the event log, each event a run of the subscriber's onEvent
 * export (trigger `event`) through the host's one invoke.
 * @module
 */
export {
  type DeliveryOptions,
  eventJson,
  type LaneStatus,
  MAX_HOPS,
  type RetryPolicy,
  type RunningDelivery,
  startDelivery,
} from "./dispatcher.ts";
export {
  byPriority,
  covers,
  isDue,
  overlaps,
  type Subscriber,
  subscriberOf,
} from "./subscription.ts";
